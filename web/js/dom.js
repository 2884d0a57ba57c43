// A tiny element builder. Text always goes in as text nodes, never as HTML,
// so label values from the API cannot inject markup.

export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null) continue;
    if (k === 'class') el.className = v;
    else if (k === 'dataset') Object.assign(el.dataset, v);
    // Styles through the CSSOM: the Content-Security-Policy refuses style
    // attributes.
    else if (k === 'style') Object.assign(el.style, v);
    else if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k in el && typeof v !== 'string') el[k] = v;
    else if (v === false) continue;
    else el.setAttribute(k, v === true ? '' : v);
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c === undefined || c === null || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.append(c instanceof Node ? c : String(c));
  }
}

// An alert box: kind is 'error', 'warning' or 'info'.
export function alertBox(kind, title, message) {
  return h('div', { class: `alert alert-${kind}`, role: kind === 'error' ? 'alert' : 'status' },
    title ? h('strong', {}, title) : null, title ? ' ' : null, message);
}

// The notice a page shows for an endpoint this server does not have.
export function notAvailable(what, path) {
  return h('div', { class: 'alert alert-info not-available' },
    h('strong', {}, `${what} not available. `),
    `This server does not answer ${path} (404).`);
}

// A two-column key/value table.
export function kvTable(rows, { className = 'kv' } = {}) {
  return h('table', { class: className },
    h('tbody', {}, rows.map(([k, v]) => h('tr', {}, h('th', {}, k), h('td', {}, v)))));
}

export function pageHeader(title, subtitle) {
  return h('div', { class: 'page-header' }, h('h1', {}, title), subtitle ? h('p', { class: 'muted' }, subtitle) : null);
}
