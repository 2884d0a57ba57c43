// /browse: metric names and label names on the left; on the right the
// series of a metric (/api/v1/series) or the values of a label
// (/api/v1/label/<name>/values) and the series of one value. The choice is
// in the URL (?metric=, ?label=&value=), so a link shows the same.

import { api, labelNames, labelValues, metricNames, quote, selectorOf } from '../api.js';
import { alertBox, h, pageHeader } from '../dom.js';
import { count, seriesName } from '../format.js';
import { encodePanels, defaultPanel } from '../url_state.js';

const seriesLimit = 1000;

function graphLink(expr, tab) {
  return 'graph' + encodePanels([{ ...defaultPanel(), expr, tab }]);
}

export function browsePage(main) {
  const params = new URLSearchParams(location.search);
  let mode = params.has('label') ? 'labels' : 'metrics';
  const filter = h('input', { type: 'search', class: 'filter', placeholder: 'Filter', 'aria-label': 'Filter' });
  const list = h('ul', { class: 'name-list' });
  const listInfo = h('div', { class: 'muted small list-info' });
  const detail = h('div', { class: 'browse-detail' });
  const modeBtns = {
    metrics: h('button', { class: 'tab', onclick: () => setMode('metrics') }, 'Metrics'),
    labels: h('button', { class: 'tab', onclick: () => setMode('labels') }, 'Labels'),
  };
  let names = [];
  let selected = null;

  main.replaceChildren(
    pageHeader('Browse', 'Metric names, label names and values, and the series behind them.'),
    h('div', { class: 'browse' },
      h('aside', { class: 'browse-list card' },
        h('div', { class: 'tabs' }, modeBtns.metrics, modeBtns.labels),
        filter, listInfo, list),
      detail));

  function drawList() {
    const f = filter.value.toLowerCase();
    const shown = names.filter((n) => n.toLowerCase().includes(f));
    listInfo.textContent = `${count(shown.length)} of ${count(names.length)} ${mode === 'metrics' ? 'metrics' : 'labels'}`;
    list.replaceChildren(...shown.slice(0, 5000).map((n) =>
      h('li', { class: n === selected ? 'selected' : '', dataset: { name: n } }, n)));
  }

  async function setMode(m, keepSelection = false) {
    mode = m;
    for (const [k, b] of Object.entries(modeBtns)) b.classList.toggle('active', k === m);
    if (!keepSelection) selected = null;
    list.replaceChildren();
    listInfo.textContent = 'Loading…';
    try {
      names = m === 'metrics' ? await metricNames() : (await labelNames()).filter((n) => n !== '__name__');
      drawList();
    } catch (e) {
      listInfo.replaceChildren(alertBox('error', 'Error:', e.message));
    }
  }

  list.addEventListener('click', (e) => {
    const li = e.target.closest('li');
    if (!li) return;
    selected = li.dataset.name;
    drawList();
    if (mode === 'metrics') showSeries(selectorOf(selected), selected, { metric: selected });
    else showLabel(selected);
  });
  filter.addEventListener('input', drawList);

  function setUrl(q) {
    history.replaceState(null, '', location.pathname + (Object.keys(q).length ? '?' + new URLSearchParams(q) : ''));
  }

  async function showSeries(match, title, urlState) {
    setUrl(urlState);
    const expr = urlState.metric !== undefined ? plainSelector(urlState.metric) : match;
    detail.replaceChildren(h('div', { class: 'card' }, h('h2', {}, title), h('p', { class: 'muted' }, 'Loading…')));
    try {
      const { data, warnings } = await api('api/v1/series', { params: [['match[]', match], ['limit', seriesLimit]] });
      const labels = [...new Set(data.flatMap((s) => Object.keys(s)))].filter((k) => k !== '__name__').sort();
      const table = h('table', { class: 'series-table' },
        h('thead', {}, h('tr', {}, h('th', {}, 'Series'), labels.map((l) => h('th', {}, l)))),
        h('tbody', {}, data.map((s) => h('tr', {},
          h('td', { class: 'series' }, h('a', { href: graphLink(seriesName(s), 'graph') }, s.__name__ || seriesName(s))),
          labels.map((l) => h('td', {}, s[l] ?? ''))))));
      detail.replaceChildren(h('div', { class: 'card' },
        h('div', { class: 'card-head' },
          h('h2', {}, title),
          h('span', { class: 'muted' }, `${count(data.length)} series`),
          h('span', { class: 'spacer' }),
          h('a', { class: 'btn', href: graphLink(expr, 'graph') }, 'Graph'),
          h('a', { class: 'btn', href: graphLink(expr, 'table') }, 'Table')),
        warnings.map((w) => alertBox('warning', 'Warning:', w)),
        h('div', { class: 'table-scroll' }, table)));
    } catch (e) {
      detail.replaceChildren(alertBox('error', 'Error:', e.message));
    }
  }

  async function showLabel(label) {
    setUrl({ label });
    detail.replaceChildren(h('div', { class: 'card' }, h('h2', {}, label), h('p', { class: 'muted' }, 'Loading…')));
    try {
      const values = await labelValues(label);
      const vfilter = h('input', { type: 'search', class: 'filter', placeholder: 'Filter values', 'aria-label': 'Filter values' });
      const vlist = h('ul', { class: 'value-list' });
      const draw = () => {
        const f = vfilter.value.toLowerCase();
        vlist.replaceChildren(...values.filter((v) => v.toLowerCase().includes(f)).slice(0, 5000).map((v) =>
          h('li', { dataset: { value: v } }, v)));
      };
      vfilter.addEventListener('input', draw);
      vlist.addEventListener('click', (e) => {
        const li = e.target.closest('li');
        if (li) showValue(label, li.dataset.value);
      });
      draw();
      detail.replaceChildren(h('div', { class: 'card' },
        h('div', { class: 'card-head' }, h('h2', {}, label), h('span', { class: 'muted' }, `${count(values.length)} values`)),
        vfilter, vlist));
    } catch (e) {
      detail.replaceChildren(alertBox('error', 'Error:', e.message));
    }
  }

  function showValue(label, value) {
    const sel = `{${label}=${quote(value)}}`;
    showSeries(sel, sel, { label, value });
  }

  // A metric's selector as a user would write it.
  function plainSelector(metric) {
    return /^[a-zA-Z_:][a-zA-Z0-9_:]*$/.test(metric) ? metric : selectorOf(metric);
  }

  if (mode === 'metrics') {
    setMode('metrics', true);
    if (params.has('metric')) {
      selected = params.get('metric');
      showSeries(selectorOf(selected), selected, { metric: selected });
    } else {
      detail.replaceChildren(h('div', { class: 'card muted' }, 'Choose a metric or a label on the left.'));
    }
  } else {
    selected = params.get('label');
    setMode('labels', true);
    if (params.has('value')) showValue(selected, params.get('value'));
    else showLabel(selected);
  }
}
