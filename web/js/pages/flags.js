// /flags: the server's settings as /api/v1/status/flags lists them.

import { api } from '../api.js';
import { alertBox, h, notAvailable, pageHeader } from '../dom.js';

export async function flagsPage(main) {
  const header = pageHeader('Flags', 'Command-line flags and settings in effect.');
  main.replaceChildren(header, h('p', { class: 'muted' }, 'Loading…'));
  let data;
  try {
    ({ data } = await api('api/v1/status/flags'));
  } catch (e) {
    main.replaceChildren(header, e.notAvailable ? notAvailable('Flags', '/api/v1/status/flags') : alertBox('error', 'Error:', e.message));
    return;
  }
  const entries = Object.entries(data).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const filter = h('input', { type: 'search', class: 'filter', placeholder: 'Filter flags', 'aria-label': 'Filter flags' });
  const tbody = h('tbody');
  const draw = () => {
    const f = filter.value.toLowerCase();
    tbody.replaceChildren(...entries
      .filter(([k, v]) => k.toLowerCase().includes(f) || String(v).toLowerCase().includes(f))
      .map(([k, v]) => h('tr', {}, h('th', {}, k), h('td', {}, String(v)))));
  };
  filter.addEventListener('input', draw);
  draw();
  main.replaceChildren(header, h('div', { class: 'card' }, filter, h('table', { class: 'kv flags-table' }, tbody)));
}
