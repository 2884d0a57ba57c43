// One query panel of the graph page: the editor, Table (instant query at an
// evaluation time) or Graph (range query over a range ending at an end
// time, with a step), the errors and warnings of the answer, and the view.
// Every run reports its state through onStateChange, which the page
// writes into the URL.

import { api } from './api.js';
import { QueryEditor } from './editor.js';
import { alertBox, h } from './dom.js';
import { formatDuration, formatLocal, parseDuration, parseTimeInput, zoneLabel } from './format.js';
import { Graph } from './graph.js';
import { renderTable } from './table.js';

const ranges = ['1m', '5m', '15m', '30m', '1h', '2h', '6h', '12h', '1d', '2d', '1w', '2w', '4w', '8w', '26w', '1y']
  .map(parseDuration);

// Prometheus' default resolution: about 250 points across the range.
export function autoStep(rangeMs) {
  return Math.max(Math.floor(rangeMs / 250 / 1000), 1);
}

const seconds = (ms) => (ms / 1000).toFixed(3);

export class Panel {
  constructor(state, { onStateChange, onRemove }) {
    this.state = { ...state };
    this.onStateChange = onStateChange;
    this.onRemove = onRemove;
    this.graph = null;
    this.lastRange = null;  // the matrix last drawn, for the stacked toggle
    this.timings = null;
    this.running = null;
    this.editor = new QueryEditor({
      value: state.expr,
      onExecute: () => this.execute(),
      onChange: (v) => {
        this.state.expr = v;
      },
    });
    this.executeBtn = h('button', { class: 'btn btn-primary execute', onclick: () => this.execute() }, 'Execute');
    this.tabs = {
      table: h('button', { class: 'tab', role: 'tab', title: 'Instant query at the evaluation time', onclick: () => this.setTab('table') }, 'Table'),
      graph: h('button', { class: 'tab', role: 'tab', title: 'Range query over the time range', onclick: () => this.setTab('graph') }, 'Graph'),
    };
    this.controls = h('div', { class: 'controls' });
    this.stats = h('span', { class: 'stats muted' });
    this.alerts = h('div', { class: 'panel-alerts' });
    this.body = h('div', { class: 'panel-body' });
    this.el = h('section', { class: 'panel' },
      h('div', { class: 'panel-top' },
        this.editor.el,
        this.executeBtn,
        h('button', { class: 'btn btn-icon remove', title: 'Remove panel', 'aria-label': 'Remove panel', onclick: () => this.onRemove(this) }, '×')),
      h('div', { class: 'panel-toolbar' },
        h('div', { class: 'tabs', role: 'tablist' }, this.tabs.table, this.tabs.graph),
        this.controls,
        this.stats),
      this.alerts,
      this.body);
    this.renderControls();
    if (state.expr.trim() === '') this.showHint();
  }

  // What an empty panel shows a first-time user.
  showHint() {
    this.body.replaceChildren(h('p', { class: 'hint muted' },
      'Type a PromQL expression such as ', h('code', {}, 'up'), ' or ',
      h('code', {}, 'rate(http_requests_total[5m])'), ' and press Enter. Ctrl+Space lists the metric names; ',
      h('a', { href: 'browse' }, 'Browse'), ' shows every series.'));
  }

  setTab(tab) {
    if (this.state.tab === tab) return;
    this.state.tab = tab;
    this.renderControls();
    this.body.replaceChildren();
    this.destroyGraph();
    this.execute();
  }

  renderControls() {
    const s = this.state;
    for (const [name, btn] of Object.entries(this.tabs)) {
      btn.classList.toggle('active', name === s.tab);
      btn.setAttribute('aria-selected', String(name === s.tab));
    }
    const endInput = h('input', {
      class: 'end-time',
      placeholder: 'now',
      size: 19,
      title: `${s.tab === 'graph' ? 'End' : 'Evaluation'} time in ${zoneLabel()} (YYYY-MM-DD HH:mm:ss, ` +
        'RFC 3339 or Unix seconds); empty: now',
      'aria-label': s.tab === 'graph' ? 'End time' : 'Evaluation time',
      value: s.endTime === null ? '' : formatLocal(s.endTime),
      onchange: (e) => {
        const t = e.target.value.trim() === '' ? null : parseTimeInput(e.target.value);
        if (t === null && e.target.value.trim() !== '') {
          e.target.classList.add('invalid');
          return;
        }
        this.update({ endTime: t });
      },
    });
    const shift = (dir) => () => {
      const width = s.tab === 'graph' ? s.range / 2 : 60e3 * 5;
      this.update({ endTime: Math.round((s.endTime ?? Date.now()) + dir * width) });
    };
    const timeGroup = h('div', { class: 'group' },
      h('button', { class: 'btn btn-small', title: 'Earlier', onclick: shift(-1) }, '‹‹'),
      endInput,
      h('button', { class: 'btn btn-small', title: 'Later', onclick: shift(1) }, '››'),
      h('button', { class: 'btn btn-small', title: 'Now', disabled: s.endTime === null, onclick: () => this.update({ endTime: null }) }, 'Now'));
    if (s.tab === 'table') {
      this.controls.replaceChildren(h('span', { class: 'control-label' }, 'Evaluation time'), timeGroup);
      return;
    }
    const rangeInput = h('input', {
      class: 'range-input',
      value: formatDuration(s.range),
      size: 5,
      'aria-label': 'Range',
      title: 'Range: a duration such as 30m, 6h, 2d',
      onchange: (e) => {
        const r = parseDuration(e.target.value);
        if (r > 0) this.update({ range: r });
        else e.target.value = formatDuration(s.range);
      },
    });
    const stepRange = (dir) => () => {
      const next = dir < 0 ? [...ranges].reverse().find((r) => r < s.range) : ranges.find((r) => r > s.range);
      if (next) this.update({ range: next });
    };
    const stepInput = h('input', {
      class: 'step-input',
      type: 'number',
      min: 1,
      step: 'any',
      'aria-label': 'Step in seconds',
      title: 'Resolution: seconds between points; empty: automatic',
      placeholder: `auto (${autoStep(s.range)}s)`,
      value: s.step ? String(s.step) : '',
      onchange: (e) => {
        const v = Number(e.target.value);
        this.update({ step: v > 0 ? v : null });
      },
    });
    const stacked = h('label', { class: 'toggle' },
      h('input', { type: 'checkbox', class: 'stacked', checked: s.stacked, onchange: (e) => this.setStacked(e.target.checked) }),
      'Stacked');
    this.controls.replaceChildren(
      h('div', { class: 'group' },
        h('button', { class: 'btn btn-small', title: 'Shorter range', onclick: stepRange(-1) }, '−'),
        rangeInput,
        h('button', { class: 'btn btn-small', title: 'Longer range', onclick: stepRange(1) }, '+')),
      timeGroup,
      h('div', { class: 'group' }, h('span', { class: 'control-label' }, 'Step'), stepInput),
      stacked);
  }

  update(change) {
    Object.assign(this.state, change);
    this.renderControls();
    this.execute();
  }

  setStacked(on) {
    this.state.stacked = on;
    this.onStateChange();
    if (this.lastRange) this.drawGraph(this.lastRange.result, this.lastRange.range);
  }

  destroyGraph() {
    if (this.graph) {
      this.graph.destroy();
      this.graph = null;
    }
  }

  async execute() {
    const s = this.state;
    s.expr = this.editor.value;
    this.running?.abort();
    this.onStateChange();
    if (s.expr.trim() === '') {
      this.destroyGraph();
      this.lastRange = null;
      this.alerts.replaceChildren();
      this.showHint();
      this.stats.textContent = '';
      return;
    }
    const ctl = new AbortController();
    this.running = ctl;
    this.el.classList.add('loading');
    this.executeBtn.disabled = true;
    const t0 = performance.now();
    try {
      const end = s.endTime ?? Date.now();
      let answer;
      let range = null;
      if (s.tab === 'graph') {
        const step = s.step || autoStep(s.range);
        range = { start: Number(seconds(end - s.range)), end: Number(seconds(end)), step };
        answer = await api('api/v1/query_range', {
          method: 'POST',
          signal: ctl.signal,
          params: [['query', s.expr], ['start', range.start], ['end', range.end], ['step', step]],
        });
      } else {
        answer = await api('api/v1/query', {
          method: 'POST',
          signal: ctl.signal,
          params: [['query', s.expr], ['time', seconds(end)]],
        });
      }
      const t1 = performance.now();
      this.alerts.replaceChildren(...answer.warnings.map((w) => alertBox('warning', 'Warning:', w)));
      if (s.tab === 'graph') {
        if (answer.data.resultType !== 'matrix') {
          throw new Error(`the graph needs a range query's matrix, got ${answer.data.resultType}`);
        }
        this.lastRange = { result: answer.data.result, range };
        this.drawGraph(answer.data.result, range);
      } else {
        this.destroyGraph();
        this.lastRange = null;
        renderTable(this.body, answer.data);
      }
      const t2 = performance.now();
      const n = answer.data.resultType === 'vector' || answer.data.resultType === 'matrix' ? answer.data.result.length : 1;
      this.timings = { queryMs: t1 - t0, renderMs: t2 - t1, series: n };
      this.stats.textContent = `Load time: ${Math.round(t1 - t0)} ms · Render: ${Math.round(t2 - t1)} ms · ` +
        (range ? `Resolution: ${range.step}s · ` : '') + `Result series: ${n}`;
    } catch (e) {
      if (e.name === 'AbortError') return;
      this.destroyGraph();
      this.lastRange = null;
      this.body.replaceChildren();
      this.stats.textContent = '';
      this.alerts.replaceChildren(alertBox('error', e.errorType ? `Error (${e.errorType}):` : 'Error:', e.message));
    } finally {
      if (this.running === ctl) {
        this.running = null;
        this.el.classList.remove('loading');
        this.executeBtn.disabled = false;
      }
    }
  }

  drawGraph(result, range) {
    this.destroyGraph();
    if (result.length === 0) {
      this.body.replaceChildren(h('div', { class: 'empty' }, 'Empty query result'));
      return;
    }
    this.graph = new Graph(this.body, result, range, { stacked: this.state.stacked });
  }

  destroy() {
    this.running?.abort();
    this.destroyGraph();
    this.el.remove();
  }
}
