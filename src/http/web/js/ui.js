// Small DOM and formatting helpers (no framework: the page weight stays small).

/** h('td', {class: 'num'}, 'text', child, …) */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else el.setAttribute(k, v === true ? '' : v);
  }
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

const nf0 = new Intl.NumberFormat('en', { maximumFractionDigits: 0 });
const nf1 = new Intl.NumberFormat('en', { maximumFractionDigits: 1 });

export const num = (v, digits = 0) =>
  v === null || v === undefined ? '–' : (digits ? nf1 : nf0).format(v);

export const signed = (v) =>
  v === null || v === undefined ? '–' : (v > 0 ? '+' : '') + nf0.format(v);

/** 135 → "2h 15m" */
export function minutes(m) {
  if (m === null || m === undefined) return '–';
  const t = Math.round(m), hh = Math.floor(t / 60), mm = t % 60;
  return hh ? `${hh}h ${String(mm).padStart(2, '0')}m` : `${mm}m`;
}

export const time = (iso) => (iso ? new Date(iso).toISOString().slice(11, 16) + ' UTC' : '–');
export const dateTime = (iso) => (iso ? new Date(iso).toISOString().slice(0, 16).replace('T', ' ') + ' UTC' : '–');

export const channelLink = (login) => h('a', { href: `/streamer/${encodeURIComponent(login)}` }, login);

/**
 * A table. `columns`: [{key, label, num?, fmt?(value,row) → text|Node, cls?(value,row)}].
 * Each cell keeps the raw value in data-value (what tests and copy-paste read).
 */
export function table(id, columns, rows, empty = 'No rows yet.') {
  if (!rows.length) return h('p', { class: 'muted', id }, empty);
  const head = h('tr', {}, columns.map((c) =>
    h('th', { class: [c.num ? 'num' : '', c.hide ? 'hide-narrow' : ''].join(' ').trim() || null }, c.label)));
  const body = rows.map((r) => h('tr', { dataset: r.login ? { login: r.login } : {} }, columns.map((c) => {
    const v = r[c.key];
    const shown = c.fmt ? c.fmt(v, r) : (c.num ? num(v) : v ?? '–');
    const cls = [c.num ? 'num' : '', c.cls ? c.cls(v, r) : '', c.hide ? 'hide-narrow' : ''].join(' ').trim();
    return h('td', { class: cls || null, 'data-key': c.key, 'data-value': v === null || v === undefined ? '' : String(v) }, shown);
  })));
  return h('div', { class: 'scroll' }, h('table', { id }, h('thead', {}, head), h('tbody', {}, body)));
}

export const panel = (cls, title, ...body) => h('section', { class: `panel ${cls}` }, title ? h('h2', {}, title) : null, ...body);

export const tile = (k, v) => h('div', { class: 'tile' }, h('div', { class: 'k' }, k), h('div', { class: 'v' }, v));

export const changeClass = (v) => (v > 0 ? 'up' : v < 0 ? 'down' : '');

/** Replaces the page's content. */
export function show(...nodes) {
  const main = document.getElementById('page');
  main.replaceChildren(...nodes);
}

export const errorBox = (msg) => h('div', { class: 'error', role: 'alert' }, msg);
