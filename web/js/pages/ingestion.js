// /ingestion: how fast Nightlight is taking samples in, right now.
//
// Nightlight does not scrape itself, so there is no stored history to
// query; the page reads its /metrics counters every few seconds and turns
// successive readings into per-second rates (a counter that goes down
// means a restart: its new value is the increase, as rate() treats it).
// The chart covers the time the page has been open.

import { text } from '../api.js';
import { alertBox, h, pageHeader } from '../dom.js';
import { bytes, count, formatLocal, shortNumber } from '../format.js';
import { parseExposition, sum } from '../exposition.js';
import { seriesColor } from '../graph.js';
import { tile } from './tsdb.js';

const maxPoints = 900;
const isWrite = (l) => l.handler === '/api/v1/write';

// The counters and gauges one reading keeps.
function reading(samples) {
  const rejected = {};
  for (const s of samples) {
    if (s.name === 'nightlight_samples_rejected_total') rejected[s.labels.reason || ''] = s.value;
  }
  return {
    at: Date.now(),
    appended: sum(samples, 'nightlight_samples_appended_total'),
    rejected,
    rejectedTotal: Object.values(rejected).reduce((a, b) => a + b, 0),
    writes: sum(samples, 'nightlight_http_requests_total', isWrite),
    failedWrites: sum(samples, 'nightlight_http_requests_total', (l) => isWrite(l) && !/^2/.test(l.code || '')),
    walBytes: sum(samples, 'nightlight_wal_bytes_written_total'),
    overloads: sum(samples, 'nightlight_overload_responses_total'),
    headSeries: sum(samples, 'nightlight_head_series'),
    inflight: sum(samples, 'nightlight_inflight_samples'),
  };
}

// Per-second increase of a counter between two readings.
function rate(prev, cur, pick) {
  const a = pick(prev);
  const b = pick(cur);
  const dt = (cur.at - prev.at) / 1000;
  if (dt <= 0) return 0;
  return (b >= a ? b - a : b) / dt;
}

export function ingestionPage(main) {
  const intervalSel = h('select', { 'aria-label': 'Refresh interval' },
    [1, 2, 5, 10].map((s) => h('option', { value: s, selected: s === 2 }, `every ${s}s`)));
  const tiles = h('div', { class: 'tiles tiles-4' });
  const chartEl = h('div', { class: 'plot' });
  const rejections = h('div');
  const error = h('div');
  main.replaceChildren(
    pageHeader('Ingestion', 'Samples taken in by this server, from its own /metrics counters.'),
    h('div', { class: 'card-head' },
      h('span', { class: 'muted' }, 'Rates are computed in the browser from successive readings of /metrics since this page was opened.'),
      h('span', { class: 'spacer' }), h('label', { class: 'control-label' }, 'Refresh ', intervalSel)),
    error, tiles,
    h('div', { class: 'card' }, h('h2', {}, 'Samples per second'), chartEl),
    rejections);

  const xs = [];
  const appended = [];
  const refused = [];
  let plot = null;
  let prev = null;
  let timer = null;
  let generation = 0;  // a changed interval starts a new polling loop

  function drawChart() {
    const data = [xs, appended, refused];
    // The time axis spans the readings, at least a minute (uPlot would
    // spread a single reading over years).
    const last = xs[xs.length - 1];
    const span = { min: Math.min(xs[0], last - 60), max: last };
    if (plot) {
      plot.setData(data);
      plot.setScale('x', span);
      return;
    }
    plot = new uPlot({
      width: Math.max(300, chartEl.clientWidth || 800),
      height: 260,
      series: [{}, { label: 'appended/s', stroke: seriesColor(0), width: 2 }, { label: 'rejected/s', stroke: seriesColor(3), width: 2 }],
      axes: [{ stroke: '#5b6475', grid: { stroke: '#eceff3' } },
        { stroke: '#5b6475', grid: { stroke: '#eceff3' }, size: 60, values: (u, v) => v.map(shortNumber) }],
      scales: { x: { time: true, auto: false } },
    }, data, chartEl);
    plot.setScale('x', span);
    new ResizeObserver(() => plot.setSize({ width: Math.max(300, chartEl.clientWidth), height: 260 })).observe(chartEl);
  }

  function show(cur) {
    const r = (pick) => (prev ? shortNumber(rate(prev, cur, pick)) : '—');
    tiles.replaceChildren(
      tile('samples appended / s', r((x) => x.appended), 'appended-rate'),
      tile('samples rejected / s', r((x) => x.rejectedTotal), 'rejected-rate'),
      tile('remote writes / s', r((x) => x.writes), 'writes-rate'),
      tile('WAL bytes / s', prev ? bytes(rate(prev, cur, (x) => x.walBytes)) : '—', 'wal-rate'),
      tile('series in the head', count(cur.headSeries), 'head-series'),
      tile('samples in flight', count(cur.inflight), 'inflight'),
      tile('samples appended since start', count(cur.appended), 'appended-total'),
      tile('writes refused since start', count(cur.failedWrites), 'failed-writes'));
    const reasons = Object.entries(cur.rejected);
    rejections.replaceChildren(h('div', { class: 'card' }, h('h2', {}, 'Rejected samples by reason'),
      h('table', { class: 'reasons' },
        h('thead', {}, h('tr', {}, h('th', {}, 'Reason'), h('th', { class: 'num' }, 'Since start'), h('th', { class: 'num' }, 'Per second'))),
        h('tbody', {}, reasons.map(([k, v]) => h('tr', {},
          h('td', { class: 'series' }, k), h('td', { class: 'num' }, count(v)),
          h('td', { class: 'num' }, prev ? shortNumber(rate(prev, cur, (x) => x.rejected[k] || 0)) : '—')))))));
  }

  async function poll(gen) {
    try {
      const cur = reading(parseExposition(await text('metrics')));
      error.replaceChildren();
      if (prev) {
        xs.push(cur.at / 1000);
        appended.push(rate(prev, cur, (x) => x.appended));
        refused.push(rate(prev, cur, (x) => x.rejectedTotal));
        if (xs.length > maxPoints) [xs, appended, refused].forEach((a) => a.shift());
        drawChart();
      }
      show(cur);
      prev = cur;
    } catch (e) {
      error.replaceChildren(alertBox('error', `Reading /metrics failed at ${formatLocal(Date.now())}:`, e.message));
    }
    if (gen === generation) timer = setTimeout(() => poll(gen), Number(intervalSel.value) * 1000);
  }

  intervalSel.addEventListener('change', () => {
    clearTimeout(timer);
    poll(++generation);
  });
  poll(generation);
}
