// The graph view: a range query's matrix drawn with uPlot (web/vendor/uplot),
// one line per series, a legend with the full label sets, the value under
// the cursor of the series nearest to it, and an optional stacked mode.
//
// Built for size: the samples go straight into typed arrays on the query's
// step grid (no per-point objects), uPlot draws on a canvas, and the
// hover tooltip touches one element per mouse move (no per-series cursor
// points), so 100 series x 1000 points stay smooth.

import { h } from './dom.js';
import { formatLocal, seriesName, shortNumber } from './format.js';

// Distinguishable colours: a qualitative palette, then hues around the
// circle at the golden angle. Hex, so a test can find a line's pixels.
const palette = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2',
  '#7f7f7f', '#bcbd22', '#17becf'];

export function seriesColor(i) {
  if (i < palette.length) return palette[i];
  const hue = (i * 137.508) % 360;
  return hslToHex(hue, 65, 45 + (i % 3) * 8);
}

function hslToHex(hDeg, s, l) {
  s /= 100;
  l /= 100;
  const k = (n) => (n + hDeg / 30) % 12;
  const a = s * Math.min(l, 1 - l);
  const f = (n) => Math.round(255 * (l - a * Math.max(-1, Math.min(k(n) - 3, 9 - k(n), 1))));
  return '#' + [f(0), f(8), f(4)].map((x) => x.toString(16).padStart(2, '0')).join('');
}

// The query's step grid and one Float64Array per series (NaN where the
// series has no sample), plus where each grid point's sample sits in the
// API's values (for showing the exact string the API returned).
export function alignMatrix(result, startSec, endSec, stepSec) {
  const n = Math.max(0, Math.floor((endSec - startSec) / stepSec + 1e-9) + 1);
  const xs = new Float64Array(n);
  for (let i = 0; i < n; i++) xs[i] = startSec + i * stepSec;
  const ys = [];
  const at = [];
  for (const s of result) {
    const y = new Float64Array(n).fill(NaN);
    const idx = new Int32Array(n).fill(-1);
    const values = s.values || [];
    for (let k = 0; k < values.length; k++) {
      const i = Math.round((values[k][0] - startSec) / stepSec);
      if (i < 0 || i >= n) continue;
      y[i] = Number(values[k][1]);
      idx[i] = k;
    }
    ys.push(y);
    at.push(idx);
  }
  return { xs, ys, at };
}

// uPlot wants null for gaps; non-finite values (NaN, ±Inf) are gaps in the
// drawing too (the tooltip still shows them).
function drawable(y) {
  const out = new Array(y.length);
  for (let i = 0; i < y.length; i++) out[i] = Number.isFinite(y[i]) ? y[i] : null;
  return out;
}

function stack(ys) {
  const sums = new Float64Array(ys.length ? ys[0].length : 0);
  return ys.map((y) => {
    const out = new Array(y.length);
    for (let i = 0; i < y.length; i++) {
      if (Number.isFinite(y[i])) {
        sums[i] += y[i];
        out[i] = sums[i];
      } else {
        out[i] = null;
      }
    }
    return out;
  });
}

export class Graph {
  // result: the matrix of a range query; range: {start, end, step} in
  // seconds (the query's own, so gaps stay gaps).
  constructor(container, result, range, { stacked = false } = {}) {
    this.container = container;
    this.result = result;
    this.stacked = stacked;
    this.aligned = alignMatrix(result, range.start, range.end, range.step);
    this.names = result.map((s) => seriesName(s.metric));
    this.plotEl = h('div', { class: 'plot' });
    this.tooltip = h('div', { class: 'graph-tooltip', hidden: true });
    this.marker = h('div', { class: 'graph-marker', hidden: true });
    this.legend = h('div', { class: 'legend' });
    container.replaceChildren(this.plotEl, this.legend);
    this.build();
    this.buildLegend();
    this.resizeObserver = new ResizeObserver(() => this.resize());
    this.resizeObserver.observe(container);
  }

  build() {
    const { xs, ys } = this.aligned;
    const lines = this.stacked ? stack(ys) : ys.map(drawable);
    const series = [{}];
    this.result.forEach((_, i) => {
      const color = seriesColor(i);
      series.push({
        label: this.names[i],
        stroke: color,
        width: 1.5,
        fill: this.stacked ? color + '59' : undefined,
        points: { show: false },
        spanGaps: false,
      });
    });
    // Stacked: each series fills down to the one below it.
    const bands = [];
    if (this.stacked) {
      for (let i = series.length - 1; i > 1; i--) bands.push({ series: [i, i - 1] });
    }
    const opts = {
      width: this.width(),
      height: 360,
      series,
      bands,
      legend: { show: false },
      cursor: { points: { show: false }, drag: { x: true, y: false } },
      scales: { x: { time: true } },
      axes: [
        { stroke: '#5b6475', space: 80, grid: { stroke: '#eceff3' }, ticks: { stroke: '#d5dae1' } },
        {
          stroke: '#5b6475',
          grid: { stroke: '#eceff3' },
          ticks: { stroke: '#d5dae1' },
          size: 60,
          values: (u, splits) => splits.map(shortNumber),
        },
      ],
      hooks: {
        setCursor: [(u) => this.hover(u)],
        setSelect: [(u) => this.zoomed(u)],
      },
    };
    this.uplot = new uPlot(opts, [Array.from(xs), ...lines], this.plotEl);
    this.uplot.over.append(this.marker, this.tooltip);
  }

  width() {
    return Math.max(300, this.container.clientWidth || 800);
  }

  resize() {
    const w = this.width();
    if (this.uplot && Math.abs(w - this.uplot.width) > 1) this.uplot.setSize({ width: w, height: 360 });
  }

  // The series whose line is nearest the cursor, its value and time.
  hover(u) {
    const i = u.cursor.idx;
    const top = u.cursor.top;
    if (i === null || i === undefined || top === undefined || top < 0) {
      this.tooltip.hidden = true;
      this.marker.hidden = true;
      return;
    }
    let best = -1;
    let bestDist = Infinity;
    for (let s = 1; s < u.series.length; s++) {
      if (!u.series[s].show) continue;
      const v = u.data[s][i];
      if (v === null || v === undefined) continue;
      const d = Math.abs(u.valToPos(v, 'y') - top);
      if (d < bestDist) {
        bestDist = d;
        best = s;
      }
    }
    if (best < 0) {
      this.tooltip.hidden = true;
      this.marker.hidden = true;
      return;
    }
    const k = this.aligned.at[best - 1][i];
    const raw = k >= 0 ? this.result[best - 1].values[k][1] : '';
    const x = u.valToPos(u.data[0][i], 'x');
    const y = u.valToPos(u.data[best][i], 'y');
    this.marker.style.left = `${x}px`;
    this.marker.style.top = `${y}px`;
    this.marker.style.borderColor = seriesColor(best - 1);
    this.marker.hidden = false;
    this.tooltip.replaceChildren(
      h('div', { class: 'tt-time' }, formatLocal(u.data[0][i] * 1000, true)),
      h('div', { class: 'tt-series' }, h('span', { class: 'swatch', style: { background: seriesColor(best - 1) } }),
        this.names[best - 1]),
      h('div', { class: 'tt-value' }, 'value: ', h('b', {}, raw)));
    this.tooltip.hidden = false;
    // Keep the box inside the plot: left of the cursor on the right half.
    const flip = x > u.over.clientWidth / 2;
    this.tooltip.style.left = flip ? '' : `${x + 12}px`;
    this.tooltip.style.right = flip ? `${u.over.clientWidth - x + 12}px` : '';
    this.tooltip.style.top = `${Math.min(y + 12, u.over.clientHeight - 70)}px`;
  }

  // A drag selects a time range: zoom in (double click zooms out again,
  // uPlot's default).
  zoomed(u) {
    if (u.select.width > 0) {
      const min = u.posToVal(u.select.left, 'x');
      const max = u.posToVal(u.select.left + u.select.width, 'x');
      u.setScale('x', { min, max });
      u.setSelect({ width: 0, height: 0 }, false);
    }
  }

  buildLegend() {
    const entries = this.names.map((name, i) =>
      h('div', {
        class: 'legend-item',
        dataset: { index: i },
        title: 'Click: show only this series (again: all). Ctrl/⌘-click: show or hide it.',
      }, h('span', { class: 'swatch', style: { background: seriesColor(i) } }), h('span', { class: 'legend-name' }, name)));
    this.legend.replaceChildren(...entries);
    this.legend.addEventListener('click', (e) => {
      const item = e.target.closest('.legend-item');
      if (item) this.toggle(Number(item.dataset.index), e.ctrlKey || e.metaKey);
    });
  }

  toggle(i, single) {
    const u = this.uplot;
    const n = u.series.length - 1;
    const shown = (s) => u.series[s + 1].show;
    let visible;
    if (single) {
      visible = (s) => (s === i ? !shown(i) : shown(s));
    } else {
      const onlyThis = shown(i) && [...Array(n).keys()].every((s) => s === i || !shown(s));
      visible = (s) => onlyThis || s === i;
    }
    u.batch(() => {
      for (let s = 0; s < n; s++) {
        const v = visible(s);
        if (v !== shown(s)) u.setSeries(s + 1, { show: v });
      }
    });
    [...this.legend.children].forEach((el, s) => el.classList.toggle('hidden', !shown(s)));
  }

  destroy() {
    this.resizeObserver.disconnect();
    this.uplot.destroy();
  }
}
