// The web UI's checks in headless Chromium, driven by playwright-core. Run
// by web_ui.py, which starts Nightlight and writes the fixture first:
//
//   node browser_checks.mjs CONFIG.json
//
// CONFIG: url, tEnd (ms, the fixture's newest sample), benchSeries,
// benchPoints, chromium, workdir, screenshots (dir or null) and, with mTLS,
// tls {ca, reader: [cert, key], writer: [cert, key]}.
//
// Every check prints PASS or FAIL; the exit code is the number of
// failures (capped). Measurements (first paint, the 100 x 1000 graph) are
// printed, never asserted: they depend on the machine.

import fs from 'node:fs';
import path from 'node:path';
import { chromium } from 'playwright-core';

const cfg = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
const base = cfg.url;
const origin = new URL(base).origin;
let failures = 0;

function log(...a) {
  console.log(new Date().toISOString().slice(11, 19), ...a);
}

function check(name, ok, detail = '') {
  if (ok) log('PASS', name);
  else {
    failures++;
    log('FAIL', name, typeof detail === 'string' ? detail : JSON.stringify(detail).slice(0, 2000));
  }
  return ok;
}

function measure(name, value) {
  log('MEASURE', name, value);
}

// How often each measurement is taken (bench/web_ui.sh asks for more).
const repeat = Math.max(1, cfg.measureRepeat || 1);

// "median (min..max, n=N)" of the numbers, or the one number.
function stats(xs) {
  const v = xs.filter((x) => x !== null).sort((a, b) => a - b);
  if (v.length === 0) return 'n/a';
  if (v.length === 1) return v[0].toFixed(1);
  return `${v[Math.floor(v.length / 2)].toFixed(1)} (${v[0].toFixed(1)}..${v[v.length - 1].toFixed(1)}, n=${v.length})`;
}

// The series as the UI must print it: name{k="v", ...}, labels in the
// API's order, values escaped as PromQL strings.
function seriesName(metric) {
  const q = (s) => '"' + s.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n') + '"';
  const parts = Object.entries(metric).filter(([k]) => k !== '__name__').map(([k, v]) => `${k}=${q(v)}`);
  return `${metric.__name__ || ''}{${parts.join(', ')}}`;
}

const utc = (ms) => new Date(ms).toISOString().slice(0, 19).replace('T', ' ');

const launchArgs = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];

async function openContext(clientCert) {
  const profile = fs.mkdtempSync(path.join(cfg.workdir, 'chromium-profile-'));
  const options = {
    executablePath: cfg.chromium,
    headless: true,
    args: launchArgs,
    viewport: { width: 1400, height: 900 },
    timezoneId: 'UTC',
  };
  if (clientCert) {
    options.ignoreHTTPSErrors = true;  // the test CA is not in Chromium's store
    options.clientCertificates = [{ origin, certPath: clientCert[0], keyPath: clientCert[1] }];
  }
  const ctx = await chromium.launchPersistentContext(profile, options);
  ctx.profile = profile;
  return ctx;
}

async function closeContext(ctx) {
  await ctx.close();
  fs.rmSync(ctx.profile, { recursive: true, force: true });
}

// A page that records uncaught errors and Content-Security-Policy refusals.
async function newPage(ctx) {
  const page = await ctx.newPage();
  page.problems = [];
  page.on('pageerror', (e) => page.problems.push('page error: ' + e.message));
  page.on('console', (m) => {
    if (/Content Security Policy|Refused to/.test(m.text())) page.problems.push('console: ' + m.text());
  });
  return page;
}

function noProblems(page, what) {
  check(`${what}: no script errors or CSP refusals`, page.problems.length === 0, page.problems);
  page.problems.length = 0;
}

async function shot(page, name) {
  if (cfg.screenshots) {
    fs.mkdirSync(cfg.screenshots, { recursive: true });
    await page.screenshot({ path: path.join(cfg.screenshots, name + '.png'), fullPage: true });
  }
}

let ctx;

async function apiGet(p, params = {}) {
  const r = await ctx.request.get(base + p, { params });
  return { status: r.status(), json: await r.json().catch(() => null) };
}

// Waits for the panel's next answer from `endpoint` while `action` runs.
async function answerOf(page, endpoint, action) {
  const [resp] = await Promise.all([
    page.waitForResponse((r) => new URL(r.url()).pathname.endsWith('/api/v1/' + endpoint)),
    action(),
  ]);
  return { request: new URLSearchParams(resp.request().postData() || ''), json: await resp.json() };
}

// The graph of panel `i` once drawn: series labels and data.
async function graphOf(page, i = 0) {
  await page.waitForFunction((i) => window.nightlight?.panels[i]?.graph?.uplot && !window.nightlight.panels[i].running, i);
  return page.evaluate((i) => {
    const u = window.nightlight.panels[i].graph.uplot;
    return { series: u.series.slice(1).map((s) => s.label), data: u.data.map((a) => Array.from(a)) };
  }, i);
}

async function tableOf(page, i = 0) {
  await page.waitForFunction((i) => !window.nightlight?.panels[i]?.running, i);
  return page.locator('.panel').nth(i).locator('.result-table tbody tr').evaluateAll((rows) =>
    rows.map((r) => [...r.children].map((td) => td.textContent)));
}

async function completions(page) {
  await page.locator('.completions:not([hidden]) li').first().waitFor();
  return page.locator('.completions li .text').allTextContents();
}

async function rootAndFiles() {
  const r = await ctx.request.get(base, { maxRedirects: 0 });
  check('/ redirects (302) to graph', r.status() === 302 && r.headers().location === 'graph', `${r.status()} ${r.headers().location}`);
  const js = await ctx.request.get(base + 'static/js/app.js');
  const etag = js.headers().etag;
  check('static files carry Content-Type, ETag and Cache-Control: no-cache',
    js.status() === 200 && js.headers()['content-type'] === 'text/javascript; charset=utf-8' && /^"[0-9a-f]{16}"$/.test(etag || '')
      && js.headers()['cache-control'] === 'no-cache', js.headers());
  const again = await ctx.request.get(base + 'static/js/app.js', { headers: { 'If-None-Match': etag } });
  check('a known ETag is answered 304 without a body', again.status() === 304 && (await again.body()).length === 0, String(again.status()));
  const html = await ctx.request.get(base + 'graph');
  check('pages carry a Content-Security-Policy', /default-src 'self'/.test(html.headers()['content-security-policy'] || ''), html.headers());
  const missing = await ctx.request.get(base + 'static/no-such-file.js');
  check('an unknown static file is 404', missing.status() === 404, String(missing.status()));
}

// First paint of /graph: in a fresh profile (nothing cached), then on a
// reload (every file revalidated by ETag, answered 304).
async function firstPaint() {
  const cold = [];
  const dcl = [];
  const warm = [];
  for (let r = 0; r < repeat; r++) {
    const c = r === 0 ? ctx : await openContext(cfg.tls ? cfg.tls.reader : null);
    const page = await newPage(c);
    await page.goto(base);
    await page.locator('.expr-input').waitFor();
    const t = await page.evaluate(() => {
      const fcp = performance.getEntriesByName('first-contentful-paint')[0];
      return { fcp: fcp ? fcp.startTime : null, dcl: performance.getEntriesByType('navigation')[0].domContentLoadedEventEnd };
    });
    await page.reload();
    await page.locator('.expr-input').waitFor();
    const t2 = await page.evaluate(() => performance.getEntriesByName('first-contentful-paint')[0]?.startTime ?? null);
    if (r === 0) {
      check('the browser lands on /graph', new URL(page.url()).pathname === '/graph', page.url());
      check('the graph page paints', t.fcp !== null && t2 !== null);
      noProblems(page, '/graph');
    }
    cold.push(t.fcp);
    dcl.push(t.dcl);
    warm.push(t2);
    await page.close();
    if (c !== ctx) await closeContext(c);
  }
  measure('/graph first contentful paint, cold cache, ms', stats(cold));
  measure('/graph DOMContentLoaded (all modules loaded), cold cache, ms', stats(dcl));
  measure('/graph first contentful paint, reload (304s), ms', stats(warm));
}

async function graphPage() {
  const page = await newPage(ctx);
  await page.goto(base + 'graph');
  const editor = page.locator('.expr-input').first();

  // Autocompletion: metric names, label names, label values.
  await editor.click();
  await editor.pressSequentially('nl_ui_d');
  let items = await completions(page);
  check('completion offers metric names', items.includes('nl_ui_demo'), items);
  await editor.press('Enter');
  check('Enter takes the completion', (await editor.inputValue()) === 'nl_ui_demo', await editor.inputValue());
  await editor.pressSequentially('{in');
  items = await completions(page);
  check('completion offers the metric\'s label names', items.includes('inst') && !items.includes('__name__'), items);
  await editor.press('Tab');
  await editor.pressSequentially('="');
  items = await completions(page);
  const values = (await apiGet('api/v1/label/inst/values', { 'match[]': '{__name__="nl_ui_demo"}' })).json.data;
  check('completion offers the label\'s values', JSON.stringify(items) === JSON.stringify(values), { items, values });
  await editor.press('Enter');
  check('a value completion is quoted', (await editor.inputValue()) === 'nl_ui_demo{inst="a"', await editor.inputValue());
  await editor.press('Escape');
  await shot(page, 'completion');

  // Table (instant query) equals the API's answer.
  await editor.fill('nl_ui_demo');
  const instant = await answerOf(page, 'query', () => editor.press('Enter'));
  const rows = await tableOf(page);
  const expected = instant.json.data.result.map((s) => [seriesName(s.metric), s.value[1]]);
  check('the table shows the API\'s answer (labels and values as returned)', JSON.stringify(rows) === JSON.stringify(expected), { rows, expected });
  check('the table has one row per series', rows.length === 3, rows);
  const direct = await apiGet('api/v1/query', { query: 'nl_ui_demo', time: instant.request.get('time') });
  check('the UI\'s answer equals a direct API query at the same time', JSON.stringify(direct.json) === JSON.stringify(instant.json), direct.json);

  await editor.fill('nl_ui_quote');
  await answerOf(page, 'query', () => page.locator('.execute').first().click());
  const quoted = await tableOf(page);
  check('label values are escaped as PromQL strings', quoted.length === 1 && quoted[0][0] === 'nl_ui_quote{path="a\\"b\\\\c"}', quoted);

  // Graph (range query): one line per series.
  await editor.fill('nl_ui_demo');
  const range = await answerOf(page, 'query_range', () => page.locator('.tab', { hasText: 'Graph' }).first().click());
  let g = await graphOf(page);
  const result = range.json.data.result;
  check('the graph has one uPlot series per result series', g.series.length === result.length && result.length === 3, g.series);
  check('legend and series names are the label sets', JSON.stringify(g.series) === JSON.stringify(result.map((s) => seriesName(s.metric))), g.series);
  const start = Number(range.request.get('start'));
  const step = Number(range.request.get('step'));
  const same = result.every((s, i) => {
    const got = g.data[i + 1];
    const expect = new Array(got.length).fill(null);
    for (const [t, v] of s.values) expect[Math.round((t - start) / step)] = Number(v);
    return JSON.stringify(got) === JSON.stringify(expect);
  });
  check('every line holds exactly the API\'s points', same);
  const legend = await page.locator('.panel').first().locator('.legend-item').allTextContents();
  check('the legend lists every series', legend.length === result.length, legend);
  const pixels = await page.evaluate(async () => {
    const { seriesColor } = await import('./static/js/graph.js');
    const u = window.nightlight.panels[0].graph.uplot;
    const c = u.ctx.canvas;
    const img = u.ctx.getImageData(0, 0, c.width, c.height).data;
    return u.series.slice(1).map((_, i) => {
      const hex = seriesColor(i);
      const rgb = [1, 3, 5].map((k) => parseInt(hex.slice(k, k + 2), 16));
      let n = 0;
      for (let p = 0; p < img.length; p += 4) {
        if (Math.abs(img[p] - rgb[0]) + Math.abs(img[p + 1] - rgb[1]) + Math.abs(img[p + 2] - rgb[2]) < 30) n++;
      }
      return n;
    });
  });
  check('each series\' line is drawn on the canvas in its colour', pixels.length === 3 && pixels.every((n) => n > 200), pixels);

  // Hover: the value of the nearest series under the cursor.
  const over = await page.locator('.panel').first().locator('.u-over').boundingBox();
  const y = await page.evaluate(() => window.nightlight.panels[0].graph.uplot.valToPos(2, 'y'));
  await page.mouse.move(over.x + over.width * 0.6, over.y + y);
  const tip = page.locator('.panel').first().locator('.graph-tooltip');
  await tip.waitFor({ state: 'visible' });
  const tipText = await tip.textContent();
  check('hovering shows the nearest series and its value', tipText.includes('inst="b"') && /value: 2$/.test(tipText), tipText);
  await shot(page, 'graph');

  // Stacked: each line sits on the sum of those below.
  await page.locator('.stacked').first().check();
  await page.waitForFunction(() => window.nightlight.panels[0].graph?.stacked);
  g = await graphOf(page);
  const top = g.data[3].filter((v) => v !== null);
  check('stacked: the top line is the sum of the three', top.length > 0 && top.every((v) => v === 6), top.slice(0, 5));
  check('stacked is kept in the URL', new URL(page.url()).searchParams.get('g0.stacked') === '1', page.url());

  // A fixed end time, then the URL reproduces the same graph.
  await answerOf(page, 'query_range', async () => {
    await page.locator('.end-time').first().fill(String(cfg.tEnd / 1000));
    await page.locator('.end-time').first().press('Enter');
  });
  g = await graphOf(page);
  const link = page.url();
  check('the URL carries the end time (Prometheus format)', new URL(link).searchParams.get('g0.end_input') === utc(cfg.tEnd), link);
  const copy = await newPage(ctx);
  await copy.goto(link);
  const g2 = await graphOf(copy);
  check('opening the URL reproduces the graph', JSON.stringify(g2) === JSON.stringify(g));
  noProblems(copy, 'a copied graph link');
  await copy.close();

  // An invalid query shows the API's error.
  await page.locator('.add-panel').click();
  const second = page.locator('.expr-input').nth(1);
  await second.fill('sum(');
  await second.press('Enter');
  const err = page.locator('.panel').nth(1).locator('.alert-error');
  await err.waitFor();
  const apiErr = await apiGet('api/v1/query', { query: 'sum(' });
  const errText = await err.textContent();
  check('an invalid query shows the API\'s error', apiErr.status === 400 && errText.includes(apiErr.json.error) && errText.includes('bad_data'), { errText, api: apiErr.json });
  check('two panels are in the URL', new URL(page.url()).searchParams.get('g1.expr') === 'sum(', page.url());
  await shot(page, 'panels');

  // Warnings of an answer are shown (Nightlight's query API sends none
  // today, so one is added to the real answer on its way to the page).
  await page.route('**/api/v1/query', async (route) => {
    const resp = await route.fetch();
    const json = await resp.json();
    json.warnings = ['a warning from the server'];
    await route.fulfill({ response: resp, json });
  });
  await second.fill('nl_ui_demo');
  await second.press('Enter');
  const warn = page.locator('.panel').nth(1).locator('.alert-warning');
  await warn.waitFor();
  check('warnings are shown', (await warn.textContent()).includes('a warning from the server'));
  await page.unroute('**/api/v1/query');

  await page.locator('.panel').nth(1).locator('.remove').click();
  check('removing a panel drops it from the URL', !new URL(page.url()).searchParams.has('g1.expr') && (await page.locator('.panel').count()) === 1, page.url());
  noProblems(page, '/graph');
  await page.close();

  // A Prometheus-made link opens here with the same data as the API's.
  const p = await newPage(ctx);
  const params = new URLSearchParams({ 'g0.expr': 'nl_ui_demo', 'g0.tab': '0', 'g0.stacked': '0', 'g0.range_input': '30m',
    'g0.end_input': utc(cfg.tEnd), 'g0.moment_input': utc(cfg.tEnd), 'g0.step_input': '15' });
  await p.goto(base + 'graph?' + params);
  const g3 = await graphOf(p);
  const api = (await apiGet('api/v1/query_range', { query: 'nl_ui_demo', start: (cfg.tEnd - 1800e3) / 1000, end: cfg.tEnd / 1000, step: 15 })).json;
  const apiTimes = api.data.result[0].values.map(([t]) => t);
  const uiTimes = g3.data[0].filter((_, i) => g3.data[1][i] !== null);
  check('a Prometheus graph URL shows the API\'s range answer', JSON.stringify(apiTimes) === JSON.stringify(uiTimes)
    && api.data.result.every((s, i) => JSON.stringify(s.values.map(([, v]) => Number(v))) === JSON.stringify(g3.data[i + 1].filter((v) => v !== null))),
  { apiTimes: apiTimes.slice(0, 3), uiTimes: uiTimes.slice(0, 3) });
  noProblems(p, 'a Prometheus graph URL');
  await p.close();
}

// The UI's pure helpers, imported in the page from the embedded files:
// what the editor completes where, the URL format, durations, /metrics.
async function moduleChecks() {
  const page = await newPage(ctx);
  await page.goto(base + 'graph');
  const r = await page.evaluate(async () => {
    const { completionContext } = await import('./static/js/promql.js');
    const { decodePanels, encodePanels } = await import('./static/js/url_state.js');
    const { parseDuration, formatDuration } = await import('./static/js/format.js');
    const { parseExposition, sum } = await import('./static/js/exposition.js');
    const at = (text) => {
      const c = completionContext(text.replace('|', ''), text.indexOf('|'));
      return [c.kind, c.prefix ?? null, c.metric ?? null, c.label ?? null];
    };
    const panels = [{ expr: 'sum by (job) (rate(x{a="b&c"}[5m]))', tab: 'graph', stacked: true, range: 5400e3, endTime: 1700000000000, step: 30 },
      { expr: 'up', tab: 'table', stacked: false, range: 3600e3, endTime: null, step: null }];
    const text = '# HELP a x\n# TYPE a counter\na 3\nb{x="1",y="a\\"b"} 4.5 1700000000\nb{x="2"} +Inf\nc NaN\n';
    const samples = parseExposition(text);
    return {
      contexts: [
        at('nl_ui|'), at('rate(nl_ui|'), at('up{|'), at('up{jo|'), at('up{job="a", ins|'),
        at('up{job="a|'), at('{__name__="up", job=~"x|'), at('sum by (|'), at('sum without (job, in|'),
        at('up[5|'), at('1e|'), at('up{job="a"} # comment |'), at('"str|'), at('up{job=|'),
      ],
      roundTrip: JSON.stringify(decodePanels(encodePanels(panels))) === JSON.stringify(panels),
      prometheusUrl: decodePanels('?g0.expr=rate(x%5B5m%5D)&g0.tab=1&g0.stacked=0&g0.range_input=1h&g0.moment_input=2023-11-14%2022%3A13%3A20&g1.expr=up&g1.tab=0&g1.step_input=15'),
      durations: ['1h30m', '90d', '1w', '0', '5m10s250ms', '', '1x', 'h'].map((d) => [d, parseDuration(d), parseDuration(d) === null ? null : formatDuration(parseDuration(d))]),
      exposition: [samples.length, sum(samples, 'a'), String(sum(samples, 'b')), samples[1].labels.y, Number.isNaN(samples[3].value)],
    };
  });
  const expectContexts = [
    ['metric', 'nl_ui', null, null], ['metric', 'nl_ui', null, null], ['label', '', 'up', null], ['label', 'jo', 'up', null],
    ['label', 'ins', 'up', null], ['value', 'a', 'up', 'job'], ['value', 'x', 'up', 'job'], ['label', '', null, null],
    ['label', 'in', null, null], ['none', null, null, null], ['none', null, null, null], ['none', null, null, null],
    ['none', null, null, null], ['none', null, null, null],
  ];
  check('completion contexts', JSON.stringify(r.contexts) === JSON.stringify(expectContexts), { got: r.contexts });
  check('panel state survives the URL', r.roundTrip);
  const p0 = r.prometheusUrl[0];
  check('Prometheus graph URLs are read', r.prometheusUrl.length === 2 && p0.expr === 'rate(x[5m])' && p0.tab === 'table'
    && p0.range === 3600e3 && p0.endTime === 1700000000000 && r.prometheusUrl[1].tab === 'graph' && r.prometheusUrl[1].step === 15, r.prometheusUrl);
  check('durations parse and print as Prometheus writes them', JSON.stringify(r.durations) === JSON.stringify([
    ['1h30m', 5400e3, '1h30m'], ['90d', 7776e6, '90d'], ['1w', 6048e5, '1w'], ['0', 0, '0s'], ['5m10s250ms', 310250, '5m10s250ms'],
    ['', null, null], ['1x', null, null], ['h', null, null]]), r.durations);
  check('the /metrics reader', JSON.stringify(r.exposition) === JSON.stringify([4, 3, 'Infinity', 'a"b', true]), r.exposition);
  noProblems(page, 'module checks');
  await page.close();
}

async function otherPages() {
  const page = await newPage(ctx);

  // Browse: metric list, series of a metric, the series limit's warning.
  await page.goto(base + 'browse');
  await page.locator('.name-list li', { hasText: 'nl_ui_demo' }).first().click();
  await page.locator('.series-table').waitFor();
  const apiSeries = (await apiGet('api/v1/series', { 'match[]': '{__name__="nl_ui_demo"}' })).json.data;
  const rows = await page.locator('.series-table tbody tr').count();
  check('browse: a metric shows its series', rows === apiSeries.length && rows === 3, `${rows} vs ${apiSeries.length}`);
  check('browse: the choice is in the URL', new URL(page.url()).searchParams.get('metric') === 'nl_ui_demo', page.url());
  await page.goto(base + 'browse?metric=nl_ui_many');
  await page.locator('.series-table').waitFor();
  const warn = await page.locator('.alert-warning').textContent();
  check('browse: the series limit\'s warning from the server is shown', /truncated/.test(warn)
    && (await page.locator('.series-table tbody tr').count()) === 1000, warn);
  await page.goto(base + 'browse?label=inst');
  await page.locator('.value-list li').first().waitFor();
  const vals = await page.locator('.value-list li').allTextContents();
  check('browse: a label shows its values', JSON.stringify(vals) === JSON.stringify(['a', 'b', 'c']), vals);
  await shot(page, 'browse');
  noProblems(page, '/browse');

  // TSDB status: the numbers of /api/v1/status/tsdb.
  await page.goto(base + 'tsdb-status');
  await page.locator('[data-tile="head-series"]').waitFor();
  const tsdb = (await apiGet('api/v1/status/tsdb')).json.data;
  const shown = await page.locator('[data-tile="head-series"] .tile-value').textContent();
  check('tsdb: the head\'s series count', shown === Number(tsdb.headStats.numSeries).toLocaleString('en-US'), `${shown} vs ${tsdb.headStats.numSeries}`);
  const lists = await page.locator('table.ranked').evaluateAll((ts) => ts.map((t) => Number(t.dataset.rows)));
  check('tsdb: the four cardinality lists', JSON.stringify(lists) === JSON.stringify([tsdb.seriesCountByMetricName.length,
    tsdb.labelValueCountByLabelName.length, tsdb.memoryInBytesByLabelName.length, tsdb.seriesCountByLabelValuePair.length]), lists);
  await shot(page, 'tsdb-status');
  noProblems(page, '/tsdb-status');

  // Status: build information, runtime information where it exists.
  await page.goto(base + 'status');
  await page.locator('[data-section="/api/v1/status/buildinfo"]').waitFor();
  const build = (await apiGet('api/v1/status/buildinfo')).json.data;
  const buildText = await page.locator('[data-section="/api/v1/status/buildinfo"]').textContent();
  check('status: build information', buildText.includes(build.revision) && buildText.includes(build.version), buildText);
  const runtime = await apiGet('api/v1/status/runtimeinfo');
  if (runtime.status === 404) {
    check('status: runtime information is reported not available', await page.locator('.not-available').isVisible());
  } else {
    check('status: runtime information', await page.locator('[data-section="/api/v1/status/runtimeinfo"]').isVisible());
  }
  noProblems(page, '/status');

  // Flags and configuration: the endpoint's content, or "not available".
  for (const [pagePath, apiPath] of [['flags', 'api/v1/status/flags'], ['config', 'api/v1/status/config']]) {
    await page.goto(base + pagePath);
    const ans = await apiGet(apiPath);
    if (ans.status === 404) {
      await page.locator('.not-available').waitFor();
      check(`${pagePath}: says the endpoint is not available`, (await page.locator('.not-available').textContent()).includes(apiPath.replace('api', '/api')));
    } else if (pagePath === 'flags') {
      await page.locator('.flags-table').waitFor();
      check('flags: one row per flag', (await page.locator('.flags-table tr').count()) === Object.keys(ans.json.data).length);
    } else {
      await page.locator('.config-yaml').waitFor();
      check('config: the YAML in effect', (await page.locator('.config-yaml').textContent()) === ans.json.data.yaml);
    }
    noProblems(page, '/' + pagePath);
  }

  // Ingestion: rates from /metrics while samples arrive (web_ui.py keeps
  // writing one series).
  await page.goto(base + 'ingestion');
  const rate = page.locator('[data-tile="appended-rate"] .tile-value');
  await page.waitForFunction(() => {
    const t = document.querySelector('[data-tile="appended-rate"] .tile-value');
    return t && t.textContent !== '—' && Number(t.textContent) > 0;
  }, null, { timeout: 30000 }).catch(() => {});
  check('ingestion: the samples appended per second are shown', Number(await rate.textContent()) > 0, await rate.textContent());
  const metrics = await (await ctx.request.get(base + 'metrics')).text();
  const appended = Number(/^nightlight_samples_appended_total (\S+)$/m.exec(metrics)[1]);
  const total = Number((await page.locator('[data-tile="appended-total"] .tile-value').textContent()).replace(/,/g, ''));
  check('ingestion: the appended total is /metrics\' counter', total > 100000 && total <= appended, `${total} vs ${appended}`);
  await shot(page, 'ingestion');
  noProblems(page, '/ingestion');
  await page.close();
}

// Not assertions: how long the 100 x 1000 graph takes and how smooth
// hovering over it is, on this machine (bench/web_ui.sh repeats it).
async function renderMeasurement() {
  const secs = cfg.benchPoints - 1;
  const params = new URLSearchParams({ 'g0.expr': 'nl_ui_bench', 'g0.tab': '0', 'g0.range_input': `${secs}s`,
    'g0.end_input': utc(cfg.tEnd), 'g0.step_input': '1' });
  const m = { query: [], render: [], median: [], p95: [], max: [], stack: [], longest: [] };
  for (let r = 0; r < repeat; r++) {
    const page = await newPage(ctx);
    await page.addInitScript(() => {
      window.longTasks = [];
      new PerformanceObserver((l) => window.longTasks.push(...l.getEntries().map((e) => e.duration)))
        .observe({ type: 'longtask', buffered: true });
    });
    await page.goto(base + 'graph?' + params);
    const g = await graphOf(page);
    if (r === 0) {
      check('the bench graph has 100 series of 1000 points', g.series.length === cfg.benchSeries
        && g.data[0].length === cfg.benchPoints && g.data.slice(1).every((d) => d.every((v) => v !== null)),
      `${g.series.length} x ${g.data[0].length}`);
    }
    const t = await page.evaluate(() => window.nightlight.panels[0].timings);
    m.query.push(t.queryMs);
    m.render.push(t.renderMs);
    // One synthetic mouse move per animation frame across the plot: the
    // frame interval stays ~16.7 ms while each move's work fits a frame.
    const frames = await page.evaluate(async () => {
      const u = window.nightlight.panels[0].graph.uplot;
      const rect = u.over.getBoundingClientRect();
      const times = [];
      let last = performance.now();
      for (let i = 0; i < 120; i++) {
        await new Promise((res) => requestAnimationFrame(res));
        const x = rect.left + (rect.width * (i % 60)) / 60;
        const y = rect.top + rect.height * (0.2 + (0.6 * ((i * 7) % 10)) / 10);
        u.over.dispatchEvent(new MouseEvent('mousemove', { clientX: x, clientY: y, bubbles: true }));
        const now = performance.now();
        times.push(now - last);
        last = now;
      }
      times.sort((a, b) => a - b);
      return { median: times[60], p95: times[113], max: times[119] };
    });
    m.median.push(frames.median);
    m.p95.push(frames.p95);
    m.max.push(frames.max);
    m.stack.push(await page.evaluate(() => {
      const t0 = performance.now();
      window.nightlight.panels[0].setStacked(true);  // draws synchronously
      return performance.now() - t0;
    }));
    const longTasks = await page.evaluate(() => window.longTasks);
    m.longest.push(Math.max(0, ...longTasks));
    if (r === 0) {
      await shot(page, 'bench');
      noProblems(page, 'the 100x1000 graph');
    }
    await page.close();
  }
  measure('100x1000 graph: query + transfer + JSON parse ms', stats(m.query));
  measure('100x1000 graph: align + uPlot draw ms', stats(m.render));
  measure('100x1000 graph: frame interval while hovering, median ms', stats(m.median));
  measure('100x1000 graph: frame interval while hovering, p95 ms', stats(m.p95));
  measure('100x1000 graph: frame interval while hovering, max ms', stats(m.max));
  measure('100x1000 graph: switch to stacked (stack + redraw) ms', stats(m.stack));
  measure('100x1000 graph: longest task during load and hover ms', stats(m.longest));
}

async function forbiddenWithoutReaderIdentity() {
  const writer = await openContext(cfg.tls.writer);
  const page = await writer.newPage();
  const resp = await page.goto(base + 'graph');
  const body = await page.textContent('body');
  check('mTLS: a client that is not a reader gets 403 for the UI', resp.status() === 403 && /tls\.allowed_readers/.test(body), `${resp.status()} ${body}`);
  await closeContext(writer);
}

async function main() {
  ctx = await openContext(cfg.tls ? cfg.tls.reader : null);
  try {
    await rootAndFiles();
    await firstPaint();
    await moduleChecks();
    await graphPage();
    await otherPages();
    await renderMeasurement();
    if (cfg.tls) await forbiddenWithoutReaderIdentity();
  } finally {
    await closeContext(ctx);
  }
}

const timer = setTimeout(() => {
  log('FAIL the browser checks took longer than 8 minutes');
  process.exit(100);
}, 8 * 60e3);
main().then(() => {
  clearTimeout(timer);
  log(failures === 0 ? 'all browser checks passed' : `${failures} browser checks failed`);
  process.exit(Math.min(failures, 99));
}, (e) => {
  clearTimeout(timer);
  log('FAIL', e && e.stack ? e.stack : e);
  process.exit(101);
});
