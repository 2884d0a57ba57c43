// The UI's entry point: every page path (/graph, /browse, ...) serves the
// same index.html; this picks the page from the last path segment (so a
// proxy may serve the UI under a prefix) and draws it into <main>.

import { alertBox } from './dom.js';
import { browsePage } from './pages/browse.js';
import { configPage } from './pages/config.js';
import { flagsPage } from './pages/flags.js';
import { graphPage } from './pages/graph.js';
import { ingestionPage } from './pages/ingestion.js';
import { statusPage } from './pages/status.js';
import { tsdbPage } from './pages/tsdb.js';

// Keep in step with ui_pages in protocol/router.cpp.
const pages = {
  graph: ['Graph', graphPage],
  browse: ['Browse', browsePage],
  ingestion: ['Ingestion', ingestionPage],
  'tsdb-status': ['TSDB status', tsdbPage],
  status: ['Status', statusPage],
  flags: ['Flags', flagsPage],
  config: ['Configuration', configPage],
};

const name = location.pathname.split('/').pop() || 'graph';
const [title, draw] = pages[name] || pages.graph;
document.title = `${title} · Nightlight`;
for (const a of document.querySelectorAll('#nav a')) {
  a.classList.toggle('active', a.dataset.page === name);
}
const main = document.getElementById('app');
Promise.resolve()
  .then(() => draw(main))
  .catch((e) => main.replaceChildren(alertBox('error', 'The page failed:', String(e && e.message ? e.message : e))));
