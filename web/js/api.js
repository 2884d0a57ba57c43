// The HTTP API as the UI uses it: same origin, relative URLs (so the UI also
// works under a path prefix behind a proxy), Prometheus' JSON envelope.
// Every failure becomes an ApiError whose message is fit to show as is.

export class ApiError extends Error {
  constructor(message, { status = 0, errorType = '', notAvailable = false } = {}) {
    super(message);
    this.status = status;
    this.errorType = errorType;
    // The endpoint does not exist on this server (404): pages say so
    // instead of failing.
    this.notAvailable = notAvailable;
  }
}

function encodeParams(params) {
  const form = new URLSearchParams();
  for (const [k, v] of params) {
    if (v !== undefined && v !== null && v !== '') form.append(k, String(v));
  }
  return form;
}

async function send(path, { method = 'GET', params = [], signal } = {}) {
  const form = encodeParams(params);
  let url = path;
  const init = { method, signal, headers: { Accept: 'application/json' }, credentials: 'same-origin' };
  if (method === 'POST') {
    init.body = form;
  } else if ([...form.keys()].length > 0) {
    url += '?' + form.toString();
  }
  let resp;
  try {
    resp = await fetch(url, init);
  } catch (e) {
    if (e.name === 'AbortError') throw e;
    throw new ApiError(`Cannot reach the server: ${e.message}`);
  }
  return resp;
}

// GET (or POST as a form) an /api/v1 endpoint; resolves to
// { data, warnings }, rejects with an ApiError.
export async function api(path, options = {}) {
  const resp = await send(path, options);
  const text = await resp.text();
  let doc = null;
  try {
    doc = JSON.parse(text);
  } catch (_) {
    // Not JSON: a 404 page, a 403 from the authorizer, a 503 while the
    // server starts.
  }
  if (doc && doc.status === 'success') {
    return { data: doc.data, warnings: doc.warnings || [] };
  }
  if (doc && doc.status === 'error') {
    throw new ApiError(doc.error || 'unknown error', { status: resp.status, errorType: doc.errorType || '' });
  }
  if (resp.status === 404) {
    throw new ApiError(`${path} is not available on this server`, { status: 404, notAvailable: true });
  }
  const body = text.trim().slice(0, 500);
  throw new ApiError(`HTTP ${resp.status}${body ? ': ' + body : ''}`, { status: resp.status });
}

// GET a plain-text resource (the /metrics exposition).
export async function text(path, options = {}) {
  const resp = await send(path, options);
  const body = await resp.text();
  if (!resp.ok) throw new ApiError(`HTTP ${resp.status}: ${body.trim().slice(0, 500)}`, { status: resp.status });
  return body;
}

// Cached look-ups for autocompletion and the browser: one request per key
// a minute, shared by every panel.
const cache = new Map();
const cacheMs = 60_000;

export function cached(key, load) {
  const hit = cache.get(key);
  if (hit && Date.now() - hit.at < cacheMs) return hit.promise;
  const promise = load().catch((e) => {
    cache.delete(key);
    throw e;
  });
  cache.set(key, { at: Date.now(), promise });
  return promise;
}

export const metricNames = () =>
  cached('names', () => api('api/v1/label/__name__/values').then((r) => r.data));

export const labelNames = (metric) =>
  cached('labels:' + (metric || ''), () =>
    api('api/v1/labels', { params: metric ? [['match[]', selectorOf(metric)]] : [] }).then((r) => r.data));

export const labelValues = (label, metric) =>
  cached(`values:${label}:${metric || ''}`, () =>
    api(`api/v1/label/${encodeURIComponent(label)}/values`, {
      params: metric ? [['match[]', selectorOf(metric)]] : [],
    }).then((r) => r.data));

// Metric metadata (type, help) by name; {} when the server has no
// /api/v1/metadata, which only enriches the completion list.
export const metadata = () =>
  cached('metadata', () => api('api/v1/metadata').then((r) => r.data || {}, () => ({})));

// {__name__="..."} works for every name, UTF-8 ones included.
export function selectorOf(metric) {
  return `{__name__=${quote(metric)}}`;
}

// A PromQL double-quoted string literal.
export function quote(s) {
  return '"' + s.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n') + '"';
}
