// The query editor: a textarea with a completion list. Enter runs the query
// (Shift+Enter adds a line); while the list is open, Up/Down choose, Enter
// or Tab take the choice and Escape closes it; Ctrl+Space opens it.
//
// Words come from the API (cached, see api.js): metric names from
// /api/v1/label/__name__/values, label names from /api/v1/labels and
// values from /api/v1/label/<name>/values, both narrowed to the metric
// being written (match[]), plus PromQL's functions and keywords.

import { labelNames, labelValues, metadata, metricNames } from './api.js';
import { h } from './dom.js';
import { aggregations, completionContext, functions, keywords } from './promql.js';

const maxItems = 200;

export class QueryEditor {
  constructor({ value = '', onExecute, onChange }) {
    this.onExecute = onExecute;
    this.onChange = onChange;
    this.items = [];
    this.selected = 0;
    this.context = null;
    this.requestSeq = 0;
    this.input = h('textarea', {
      class: 'expr-input',
      rows: 1,
      spellcheck: false,
      autocomplete: 'off',
      placeholder: 'Expression (press Enter to execute, Ctrl+Space to complete)',
      'aria-label': 'PromQL expression',
      'aria-autocomplete': 'list',
    });
    this.input.value = value;
    this.list = h('ul', { class: 'completions', role: 'listbox', hidden: true });
    this.el = h('div', { class: 'editor' }, this.input, this.list);
    this.input.addEventListener('input', () => {
      this.autosize();
      this.onChange?.(this.input.value);
      this.complete(false);
    });
    this.input.addEventListener('keydown', (e) => this.onKey(e));
    this.input.addEventListener('blur', () => setTimeout(() => this.close(), 150));
    this.list.addEventListener('mousedown', (e) => {
      const li = e.target.closest('li');
      if (!li) return;
      e.preventDefault();
      this.accept(Number(li.dataset.index));
    });
    requestAnimationFrame(() => this.autosize());
  }

  get value() {
    return this.input.value;
  }

  set value(v) {
    this.input.value = v;
    this.autosize();
  }

  focus() {
    this.input.focus();
  }

  autosize() {
    this.input.style.height = 'auto';
    this.input.style.height = `${this.input.scrollHeight + 2}px`;
  }

  isOpen() {
    return !this.list.hidden;
  }

  onKey(e) {
    if (this.isOpen()) {
      if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
        e.preventDefault();
        const n = this.items.length;
        this.select((this.selected + (e.key === 'ArrowDown' ? 1 : n - 1)) % n);
        return;
      }
      if (e.key === 'Enter' || e.key === 'Tab') {
        if (!e.shiftKey) {
          e.preventDefault();
          this.accept(this.selected);
          return;
        }
      }
      if (e.key === 'Escape') {
        e.preventDefault();
        this.close();
        return;
      }
    }
    if (e.key === ' ' && e.ctrlKey) {
      e.preventDefault();
      this.complete(true);
      return;
    }
    if (e.key === 'Enter' && !e.shiftKey) {
      e.preventDefault();
      this.close();
      this.onExecute?.();
    }
  }

  // Fills the list for the word at the cursor. Without `explicit`, an
  // empty word opens nothing (typing a space must not pop up a list).
  async complete(explicit) {
    const text = this.input.value;
    const cursor = this.input.selectionStart;
    const ctx = completionContext(text, cursor);
    const seq = ++this.requestSeq;
    if (ctx.kind === 'none' || (!explicit && ctx.prefix === '' && ctx.kind !== 'value')) {
      this.close();
      return;
    }
    let items;
    try {
      items = await this.candidates(ctx);
    } catch (_) {
      items = [];  // completion is a help; a failed look-up just offers nothing
    }
    if (seq !== this.requestSeq) return;  // the user typed on meanwhile
    this.context = ctx;
    this.show(rank(items, ctx.prefix));
  }

  async candidates(ctx) {
    if (ctx.kind === 'label') {
      const names = await labelNames(ctx.metric);
      return names.filter((n) => n !== '__name__').map((n) => ({ text: n, kind: 'label' }));
    }
    if (ctx.kind === 'value') {
      const values = await labelValues(ctx.label, ctx.label === '__name__' ? null : ctx.metric);
      return values.map((v) => ({ text: v, kind: 'value' }));
    }
    const [names, meta] = await Promise.all([metricNames(), metadata()]);
    const out = names.map((n) => {
      const m = meta[n] && meta[n][0];
      return { text: n, kind: 'metric', detail: m ? `${m.type}${m.help ? ' · ' + m.help : ''}` : '' };
    });
    for (const f of functions) out.push({ text: f, kind: 'function', detail: 'function' });
    for (const a of aggregations) out.push({ text: a, kind: 'aggregation', detail: 'aggregation' });
    for (const k of keywords) out.push({ text: k, kind: 'keyword', detail: 'keyword' });
    return out;
  }

  show(items) {
    this.items = items;
    if (items.length === 0 || (items.length === 1 && items[0].text === this.context.prefix)) {
      this.close();
      return;
    }
    this.list.replaceChildren(...items.map((it, i) =>
      h('li', { role: 'option', dataset: { index: i, kind: it.kind }, title: it.detail || '' },
        h('span', { class: `kind kind-${it.kind}` }, it.kind[0]),
        h('span', { class: 'text' }, it.text),
        it.detail ? h('span', { class: 'detail' }, it.detail) : null)));
    this.list.hidden = false;
    this.input.setAttribute('aria-expanded', 'true');
    this.select(0);
  }

  select(i) {
    this.list.children[this.selected]?.classList.remove('selected');
    this.selected = i;
    const li = this.list.children[i];
    if (li) {
      li.classList.add('selected');
      li.scrollIntoView({ block: 'nearest' });
    }
  }

  close() {
    this.list.hidden = true;
    this.input.setAttribute('aria-expanded', 'false');
    this.items = [];
  }

  accept(i) {
    const it = this.items[i];
    const ctx = this.context;
    if (!it || !ctx) return;
    const text = this.input.value;
    const cursor = this.input.selectionStart;
    // The whole word under the cursor is replaced, also its part after it.
    let end = cursor;
    if (ctx.kind === 'value') {
      while (end < text.length && text[end] !== ctx.quote) end++;
    } else {
      while (end < text.length && /[a-zA-Z0-9_:]/.test(text[end])) end++;
    }
    let insert = it.text;
    if (ctx.kind === 'value') {
      insert = escapeFor(ctx.quote, it.text);
      if (text[end] !== ctx.quote) insert += ctx.quote;
      else end++;
    } else if ((it.kind === 'function' || it.kind === 'aggregation') && text[end] !== '(') {
      insert += '(';
    }
    this.input.value = text.slice(0, ctx.from) + insert + text.slice(end);
    const pos = ctx.from + insert.length;
    this.input.setSelectionRange(pos, pos);
    this.close();
    this.autosize();
    this.onChange?.(this.input.value);
    this.input.focus();
  }
}

// Words starting with the prefix first, then those containing it, each
// group in alphabetical order; at most maxItems.
function rank(items, prefix) {
  const p = prefix.toLowerCase();
  const starts = [];
  const contains = [];
  for (const it of items) {
    const t = it.text.toLowerCase();
    if (t.startsWith(p)) starts.push(it);
    else if (p && t.includes(p)) contains.push(it);
  }
  const byText = (a, b) => (a.text < b.text ? -1 : a.text > b.text ? 1 : 0);
  return starts.sort(byText).concat(contains.sort(byText)).slice(0, maxItems);
}

function escapeFor(quote, s) {
  if (quote === '`') return s;
  return s.replace(/\\/g, '\\\\').replace(new RegExp(quote, 'g'), '\\' + quote).replace(/\n/g, '\\n');
}
