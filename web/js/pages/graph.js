// /graph: query panels, their state in the URL (Prometheus' g0.* format).

import { h } from '../dom.js';
import { Panel } from '../panel.js';
import { decodePanels, defaultPanel, encodePanels } from '../url_state.js';

export function graphPage(main) {
  const panels = [];
  const list = h('div', { class: 'panels' });
  const save = () => {
    history.replaceState(null, '', location.pathname + encodePanels(panels.map((p) => p.state)));
  };
  const remove = (panel) => {
    panels.splice(panels.indexOf(panel), 1);
    panel.destroy();
    if (panels.length === 0) add(defaultPanel(), true);
    save();
  };
  const add = (state, focus) => {
    const p = new Panel(state, { onStateChange: save, onRemove: remove });
    panels.push(p);
    list.append(p.el);
    if (state.expr) p.execute();
    if (focus) p.editor.focus();
    return p;
  };
  main.replaceChildren(list,
    h('button', { class: 'btn add-panel', onclick: () => add(defaultPanel(), true) }, '+ Add panel'));
  const saved = decodePanels(location.search);
  if (saved.length === 0) add(defaultPanel(), true);
  else saved.forEach((s) => add(s, false));
  // For the browser tests and for poking around in the console.
  window.nightlight = { panels };
}
