// The table view: an instant query's answer as the API returned it, one row
// per series (labels in the API's order, values as the API's strings,
// never re-formatted). A range vector (e.g. `up[5m]`) shows every sample
// as "value @timestamp", as Prometheus' table does.

import { h } from './dom.js';
import { seriesName } from './format.js';

const maxRows = 10000;

export function renderTable(container, data) {
  const { resultType, result } = data;
  let rows;
  if (resultType === 'scalar' || resultType === 'string') {
    rows = [[resultType, h('span', { class: 'value' }, result[1])]];
  } else if (resultType === 'vector') {
    rows = result.map((s) => [seriesName(s.metric), h('span', { class: 'value' }, s.value[1])]);
  } else if (resultType === 'matrix') {
    rows = result.map((s) => [seriesName(s.metric),
      h('div', { class: 'samples' }, (s.values || []).map(([t, v]) =>
        h('div', { class: 'value' }, `${v} @${t}`)))]);
  } else {
    rows = [];
  }
  const shown = rows.slice(0, maxRows);
  const table = h('table', { class: 'result-table', dataset: { resultType } },
    h('thead', {}, h('tr', {}, h('th', {}, 'Series'), h('th', { class: 'num' }, resultType === 'matrix' ? 'Samples' : 'Value'))),
    h('tbody', {}, shown.length === 0
      ? h('tr', {}, h('td', { colspan: 2, class: 'empty' }, 'Empty query result'))
      : shown.map(([name, value]) => h('tr', {}, h('td', { class: 'series' }, name), h('td', { class: 'num' }, value)))));
  container.replaceChildren(
    rows.length > maxRows
      ? h('div', { class: 'alert alert-warning' }, `Showing the first ${maxRows} of ${rows.length} series.`)
      : '',
    table);
}
