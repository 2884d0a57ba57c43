// /status: build information (/api/v1/status/buildinfo) and, where the
// server has it, runtime information (/api/v1/status/runtimeinfo).

import { api } from '../api.js';
import { alertBox, h, kvTable, notAvailable, pageHeader } from '../dom.js';

const buildLabels = {
  version: 'Prometheus API version',
  revision: 'Revision',
  branch: 'Branch',
  buildUser: 'Build user',
  buildDate: 'Build date',
  goVersion: 'Go version',
};

function valueText(v) {
  return typeof v === 'object' && v !== null ? JSON.stringify(v) : String(v);
}

export async function statusPage(main) {
  main.replaceChildren(pageHeader('Status'), h('p', { class: 'muted' }, 'Loading…'));
  const [build, runtime] = await Promise.allSettled([api('api/v1/status/buildinfo'), api('api/v1/status/runtimeinfo')]);
  const out = [pageHeader('Status', 'What this server is and how it runs.')];
  const section = (title, result, path, labels = {}) => {
    if (result.status === 'rejected') {
      return result.reason.notAvailable ? notAvailable(title, path) : alertBox('error', `${title}:`, result.reason.message);
    }
    const rows = Object.entries(result.value.data).map(([k, v]) => [labels[k] || k, valueText(v)]);
    return h('div', { class: 'card', dataset: { section: path } }, h('h2', {}, title), kvTable(rows));
  };
  out.push(section('Build information', build, '/api/v1/status/buildinfo', buildLabels));
  out.push(section('Runtime information', runtime, '/api/v1/status/runtimeinfo'));
  main.replaceChildren(...out);
}
