// /config: the configuration in effect, as /api/v1/status/config returns
// it ({"yaml": "..."}, Prometheus' shape).

import { api } from '../api.js';
import { alertBox, h, notAvailable, pageHeader } from '../dom.js';

export async function configPage(main) {
  const header = pageHeader('Configuration', 'The configuration file in effect.');
  main.replaceChildren(header, h('p', { class: 'muted' }, 'Loading…'));
  let data;
  try {
    ({ data } = await api('api/v1/status/config'));
  } catch (e) {
    main.replaceChildren(header, e.notAvailable ? notAvailable('Configuration', '/api/v1/status/config') : alertBox('error', 'Error:', e.message));
    return;
  }
  const yaml = typeof data.yaml === 'string' ? data.yaml : JSON.stringify(data, null, 2);
  const copy = h('button', { class: 'btn btn-small' }, 'Copy');
  copy.addEventListener('click', async () => {
    try {
      await navigator.clipboard.writeText(yaml);
      copy.textContent = 'Copied';
    } catch (_) {
      copy.textContent = 'Copy failed';
    }
    setTimeout(() => { copy.textContent = 'Copy'; }, 1500);
  });
  main.replaceChildren(header, h('div', { class: 'card' },
    h('div', { class: 'card-head' }, h('span', { class: 'spacer' }), copy),
    h('pre', { class: 'config-yaml' }, yaml)));
}
