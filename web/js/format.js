// Formatting shared by the pages: series names, durations, times, numbers.

import { quote } from './api.js';

const legacyName = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const legacyLabel = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

// name{a="1", b="2"}: the series as PromQL would select it, labels in the
// order the API returned them. Names outside the legacy charset are quoted
// as Prometheus 3 prints them.
export function seriesName(metric) {
  if (!metric) return '{}';
  const name = metric.__name__;
  const parts = [];
  for (const [k, v] of Object.entries(metric)) {
    if (k === '__name__') continue;
    parts.push(`${legacyLabel.test(k) ? k : quote(k)}=${quote(v)}`);
  }
  if (name !== undefined && !legacyName.test(name)) {
    return `{${[quote(name), ...parts].join(', ')}}`;
  }
  return `${name || ''}{${parts.join(', ')}}`;
}

// Prometheus durations: 1y2w3d4h5m6s7ms.
const durationRe = /^(?:(\d+)y)?(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?(?:(\d+)ms)?$/;
const units = [
  ['y', 365 * 86400e3],
  ['w', 7 * 86400e3],
  ['d', 86400e3],
  ['h', 3600e3],
  ['m', 60e3],
  ['s', 1e3],
  ['ms', 1],
];

// Milliseconds, or null when `s` is not a duration.
export function parseDuration(s) {
  s = (s || '').trim();
  if (s === '0') return 0;
  const m = durationRe.exec(s);
  if (!m || s === '') return null;
  let ms = 0;
  units.forEach(([, mult], i) => {
    if (m[i + 1] !== undefined) ms += Number(m[i + 1]) * mult;
  });
  return ms;
}

export function formatDuration(ms) {
  if (ms === 0) return '0s';
  let out = '';
  for (const [unit, mult] of units) {
    // Years and weeks only when exact: 90d reads better than 12w6d.
    if ((unit === 'y' || unit === 'w') && ms % mult !== 0) continue;
    const n = Math.floor(ms / mult);
    if (n > 0) {
      out += n + unit;
      ms -= n * mult;
    }
  }
  return out;
}

const pad = (n, w = 2) => String(n).padStart(w, '0');

// "2024-05-01 13:04:05" in UTC: the form of Prometheus' end_input URLs.
export function formatUtc(ms) {
  const d = new Date(ms);
  return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ` +
    `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`;
}

export function parseUtc(s) {
  const m = /^(\d{4})-(\d\d)-(\d\d)[ T](\d\d):(\d\d)(?::(\d\d)(?:\.(\d+))?)?Z?$/.exec((s || '').trim());
  if (!m) return null;
  const ms = m[7] ? Number(m[7].slice(0, 3).padEnd(3, '0')) : 0;
  return Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +(m[6] || 0), ms);
}

// Local time, as the graph's axis shows it.
export function formatLocal(ms, withMs = false) {
  const d = new Date(ms);
  const s = `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ` +
    `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
  return withMs && d.getMilliseconds() ? `${s}.${pad(d.getMilliseconds(), 3)}` : s;
}

// A time typed by the user: "YYYY-MM-DD HH:mm[:ss]" in local time, an
// RFC 3339 time with a zone, or Unix seconds. Milliseconds, or null.
export function parseTimeInput(text) {
  const s = (text || '').trim();
  if (/^\d+(\.\d+)?$/.test(s)) return Math.round(Number(s) * 1000);
  const m = /^(\d{4})-(\d\d)-(\d\d)[ T](\d\d):(\d\d)(?::(\d\d))?$/.exec(s);
  if (m) return new Date(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +(m[6] || 0)).getTime();
  if (/^\d{4}-\d\d-\d\dT.*(Z|[+-]\d\d:\d\d)$/.test(s)) {
    const t = Date.parse(s);
    return Number.isFinite(t) ? t : null;
  }
  return null;
}

// "+01:00" style offset of the browser's zone at `ms`.
export function zoneLabel(ms = Date.now()) {
  const off = -new Date(ms).getTimezoneOffset();
  if (off === 0) return 'UTC';
  const sign = off > 0 ? '+' : '-';
  return `UTC${sign}${pad(Math.floor(Math.abs(off) / 60))}:${pad(Math.abs(off) % 60)}`;
}

// Short numbers for axes and tiles: 1.5k, 2.25M, 0.003.
export function shortNumber(v) {
  if (v === null || v === undefined || Number.isNaN(v)) return '';
  if (!Number.isFinite(v)) return v > 0 ? '+Inf' : '-Inf';
  const a = Math.abs(v);
  const si = [
    [1e15, 'P'],
    [1e12, 'T'],
    [1e9, 'G'],
    [1e6, 'M'],
    [1e3, 'k'],
  ];
  for (const [mult, suffix] of si) {
    if (a >= mult) return trimZeros((v / mult).toFixed(2)) + suffix;
  }
  if (a === 0) return '0';
  if (a < 0.001) return v.toExponential(2);
  return trimZeros(v.toFixed(a < 1 ? 4 : 2));
}

function trimZeros(s) {
  return s.includes('.') ? s.replace(/\.?0+$/, '') : s;
}

// 12,345 with thin grouping, for counts.
export function count(n) {
  return Number(n).toLocaleString('en-US');
}

export function bytes(n) {
  const u = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (Math.abs(n) >= 1024 && i < u.length - 1) {
    n /= 1024;
    i++;
  }
  return `${trimZeros(n.toFixed(i ? 1 : 0))} ${u[i]}`;
}
