// The graph page's state in its URL, in Prometheus' own format, so links
// made by Prometheus (alert generator URLs, bookmarks) open here too:
//
//   /graph?g0.expr=up&g0.tab=0&g0.stacked=0&g0.range_input=1h
//         &g0.end_input=2024-05-01%2012%3A00%3A00&g0.moment_input=...&g0.step_input=15
//
// tab 0 is the graph (a range query), 1 the table (an instant query at
// moment_input); times are UTC "YYYY-MM-DD HH:mm:ss"; step_input is in
// seconds; no end_input means "now".

import { formatDuration, formatUtc, parseDuration, parseUtc } from './format.js';

export const defaultPanel = () => ({
  expr: '',
  tab: 'table',
  stacked: false,
  range: 3600e3,
  endTime: null,
  step: null,
});

export function decodePanels(search) {
  const params = new URLSearchParams(search);
  const panels = [];
  for (let i = 0; params.has(`g${i}.expr`); i++) {
    const get = (k) => params.get(`g${i}.${k}`);
    const p = defaultPanel();
    p.expr = get('expr') || '';
    if (get('tab') !== null) p.tab = get('tab') === '0' ? 'graph' : 'table';
    p.stacked = get('stacked') === '1';
    const range = parseDuration(get('range_input') || '');
    if (range) p.range = range;
    const end = parseUtc(get('end_input') || get('moment_input') || '');
    if (end !== null) p.endTime = end;
    const step = Number(get('step_input'));
    if (step > 0) p.step = step;
    panels.push(p);
  }
  return panels;
}

export function encodePanels(panels) {
  const params = new URLSearchParams();
  panels.forEach((p, i) => {
    const set = (k, v) => params.set(`g${i}.${k}`, v);
    set('expr', p.expr);
    set('tab', p.tab === 'graph' ? '0' : '1');
    set('stacked', p.stacked ? '1' : '0');
    set('range_input', formatDuration(p.range));
    if (p.endTime !== null) {
      set('end_input', formatUtc(p.endTime));
      set('moment_input', formatUtc(p.endTime));
    }
    if (p.step) set('step_input', String(p.step));
  });
  return '?' + params.toString();
}
