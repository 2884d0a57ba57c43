// What the query editor needs to know of PromQL: the words it offers, and
// what kind of word belongs at the cursor (a metric, a label name, a label
// value) judged from the text before it.

// The functions of promql/functions.cpp.
export const functions = [
  'abs', 'absent', 'absent_over_time', 'acos', 'acosh', 'asin', 'asinh', 'atan', 'atanh',
  'avg_over_time', 'ceil', 'changes', 'clamp', 'clamp_max', 'clamp_min', 'cos', 'cosh',
  'count_over_time', 'day_of_month', 'day_of_week', 'day_of_year', 'days_in_month', 'deg', 'delta',
  'deriv', 'exp', 'floor', 'histogram_quantile', 'holt_winters', 'hour', 'idelta', 'increase',
  'irate', 'label_join', 'label_replace', 'last_over_time', 'ln', 'log10', 'log2',
  'max_over_time', 'min_over_time', 'minute', 'month', 'pi', 'predict_linear',
  'present_over_time', 'quantile_over_time', 'rad', 'rate', 'resets', 'round', 'scalar', 'sgn',
  'sin', 'sinh', 'sort', 'sort_desc', 'sqrt', 'stddev_over_time', 'stdvar_over_time',
  'sum_over_time', 'tan', 'tanh', 'time', 'timestamp', 'vector', 'year',
];

export const aggregations = [
  'avg', 'bottomk', 'count', 'count_values', 'group', 'max', 'min', 'quantile', 'stddev',
  'stdvar', 'sum', 'topk',
];

export const keywords = [
  'and', 'or', 'unless', 'by', 'without', 'on', 'ignoring', 'group_left', 'group_right',
  'offset', 'bool', 'atan2',
];

// Words after which "(" opens a list of label names.
const labelListWords = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right']);

const identTail = /[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const labelTail = /[a-zA-Z_][a-zA-Z0-9_]*$/;

// Scans `text` up to `end`: the brackets still open there (with where they
// opened), and whether `end` is inside a string literal or a comment.
function scan(text, end) {
  const open = [];
  let quote = null;
  let quoteStart = -1;
  for (let i = 0; i < end; i++) {
    const c = text[i];
    if (quote) {
      if (c === '\\' && quote !== '`') i++;
      else if (c === quote) quote = null;
      continue;
    }
    if (c === '#') {
      const nl = text.indexOf('\n', i);
      if (nl === -1 || nl >= end) return { open, quote: null, quoteStart, comment: true };
      i = nl;
    } else if (c === '"' || c === "'" || c === '`') {
      quote = c;
      quoteStart = i;
    } else if (c === '{' || c === '(' || c === '[') {
      open.push({ c, at: i });
    } else if (c === '}' || c === ')' || c === ']') {
      open.pop();
    }
  }
  return { open, quote, quoteStart, comment: false };
}

// The metric a brace at `at` belongs to: the name written before it, or
// the value of a __name__="..." matcher inside it.
function metricOfBrace(text, at, end) {
  const before = text.slice(0, at).replace(/\s+$/, '');
  const m = identTail.exec(before);
  if (m) return m[0];
  const inside = text.slice(at, end);
  const n = /__name__\s*=\s*"((?:[^"\\]|\\.)*)"/.exec(inside);
  if (!n) return null;
  try {
    return JSON.parse(`"${n[1]}"`);
  } catch (_) {
    return null;  // an escape JSON does not know (\a, \x41): no narrowing
  }
}

// What belongs at `cursor` in `text`:
//   { kind: 'metric', prefix, from }            a metric, function or keyword
//   { kind: 'label', prefix, from, metric }     a label name (metric may be null)
//   { kind: 'value', prefix, from, metric, label, quote }  inside a label value
//   { kind: 'none' }
// `from` is where the word being completed starts.
export function completionContext(text, cursor) {
  const s = scan(text, cursor);
  if (s.comment) return { kind: 'none' };
  const inner = s.open.length ? s.open[s.open.length - 1] : null;
  if (s.quote) {
    if (!inner || inner.c !== '{') return { kind: 'none' };
    const head = text.slice(0, s.quoteStart);
    const m = /([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*$/.exec(head);
    if (!m) return { kind: 'none' };
    return {
      kind: 'value',
      prefix: text.slice(s.quoteStart + 1, cursor),
      from: s.quoteStart + 1,
      metric: metricOfBrace(text, inner.at, s.quoteStart),
      label: m[1],
      quote: s.quote,
    };
  }
  const before = text.slice(0, cursor);
  if (inner && inner.c === '[') return { kind: 'none' };  // a duration
  if (inner && inner.c === '{') {
    const m = /(?:^|[{,\s])([a-zA-Z_][a-zA-Z0-9_]*)?$/.exec(before.slice(inner.at));
    if (!m) return { kind: 'none' };
    const prefix = m[1] || '';
    // Only where a label name starts a matcher: after "{" or ",".
    const lead = before.slice(inner.at, cursor - prefix.length).replace(/\s+$/, '');
    if (!lead.endsWith('{') && !lead.endsWith(',')) return { kind: 'none' };
    return { kind: 'label', prefix, from: cursor - prefix.length, metric: metricOfBrace(text, inner.at, cursor) };
  }
  if (inner && inner.c === '(') {
    const word = /([a-z_]+)\s*$/.exec(text.slice(0, inner.at));
    if (word && labelListWords.has(word[1])) {
      const lead = before.slice(inner.at + 1);
      const m = labelTail.exec(lead);
      const prefix = m ? m[0] : '';
      const rest = lead.slice(0, lead.length - prefix.length).replace(/\s+$/, '');
      if (rest === '' || rest.endsWith(',')) {
        return { kind: 'label', prefix, from: cursor - prefix.length, metric: null };
      }
      return { kind: 'none' };
    }
  }
  const m = identTail.exec(before);
  const prefix = m ? m[0] : '';
  // Not in the middle of a number (1e3) or a duration (5m).
  const prev = before[before.length - prefix.length - 1];
  if (prev && /[0-9.]/.test(prev)) return { kind: 'none' };
  return { kind: 'metric', prefix, from: cursor - prefix.length };
}
