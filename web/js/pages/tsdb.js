// /tsdb-status: the head's statistics and the cardinality lists of
// /api/v1/status/tsdb, and the start-up WAL replay of /api/v1/status/walreplay.

import { api } from '../api.js';
import { alertBox, h, kvTable, pageHeader } from '../dom.js';
import { bytes, count, formatLocal } from '../format.js';

const lists = [
  ['seriesCountByMetricName', 'Top metrics by series', 'Metric name', 'Series', count],
  ['labelValueCountByLabelName', 'Top labels by distinct values', 'Label name', 'Values', count],
  ['memoryInBytesByLabelName', 'Top labels by memory of their values', 'Label name', 'Bytes', bytes],
  ['seriesCountByLabelValuePair', 'Top label pairs by series', 'Pair', 'Series', count],
];

// An empty head reports MaxInt64 / MinInt64 (as Prometheus does).
function headTime(ms) {
  return Math.abs(ms) > 1e17 ? '—' : `${formatLocal(ms)} (${ms})`;
}

function ranked(title, keyHead, valueHead, fmt, rows) {
  const max = Math.max(1, ...rows.map((r) => r.value));
  return h('div', { class: 'card' },
    h('h2', {}, title),
    h('table', { class: 'ranked', dataset: { rows: rows.length } },
      h('thead', {}, h('tr', {}, h('th', {}, keyHead), h('th', { class: 'num' }, valueHead), h('th', { class: 'bar-col' }, ''))),
      h('tbody', {}, rows.length === 0
        ? h('tr', {}, h('td', { colspan: 3, class: 'empty' }, 'None'))
        : rows.map((r) => h('tr', {},
          h('td', { class: 'series' }, r.name),
          h('td', { class: 'num' }, fmt(r.value)),
          h('td', { class: 'bar-col' }, h('div', { class: 'bar', style: { width: `${(100 * r.value) / max}%` } })))))));
}

export async function tsdbPage(main) {
  main.replaceChildren(pageHeader('TSDB status', 'The head block and its cardinality (top 10).'), h('p', { class: 'muted' }, 'Loading…'));
  const [tsdb, replay] = await Promise.allSettled([api('api/v1/status/tsdb'), api('api/v1/status/walreplay')]);
  const out = [pageHeader('TSDB status', 'The head block and its cardinality (top 10).')];
  if (tsdb.status === 'rejected') {
    out.push(alertBox('error', 'Error:', tsdb.reason.message));
  } else {
    const d = tsdb.value.data;
    const hs = d.headStats || {};
    out.push(h('div', { class: 'tiles' },
      tile('Series', count(hs.numSeries), 'head-series'),
      tile('Label pairs', count(hs.numLabelPairs), 'head-label-pairs'),
      tile('Chunks', count(hs.chunkCount), 'head-chunks')));
    out.push(h('div', { class: 'card' }, h('h2', {}, 'Head'), kvTable([
      ['Series', count(hs.numSeries)],
      ['Label pairs', count(hs.numLabelPairs)],
      ['Chunks', count(hs.chunkCount)],
      ['Oldest sample', headTime(hs.minTime)],
      ['Newest sample', headTime(hs.maxTime)],
    ])));
    out.push(h('div', { class: 'grid-2' }, lists.map(([key, title, kh, vh, fmt]) => ranked(title, kh, vh, fmt, d[key] || []))));
  }
  if (replay.status === 'fulfilled') {
    const r = replay.value.data;
    out.push(h('div', { class: 'card' }, h('h2', {}, 'WAL replay at start-up'),
      kvTable([['First segment', String(r.min)], ['Last segment', String(r.max)], ['Replayed up to', String(r.current)]])));
  }
  main.replaceChildren(...out);
}

export function tile(label, value, id) {
  return h('div', { class: 'tile', dataset: { tile: id } }, h('div', { class: 'tile-value' }, value), h('div', { class: 'tile-label' }, label));
}
