// The dashboard shell: routes the URL to a page, follows committed cycles over
// server-sent events, and redraws the page once per cycle from answers that
// are all of that cycle (each read is pinned with ?cycle=N).
import { get, Stale } from './api.js';
import { show, errorBox, h } from './ui.js';
import { clearCharts } from './chart.js';
import * as now from './now.js';
import * as streamer from './streamer.js';
import * as boards from './boards.js';

// Test and benchmark hooks: what the page shows, read by tests/browser.
window.tm = { boot: Math.random().toString(36).slice(2), cycle: null, renders: 0, charts: {}, timings: {}, error: null };

const routes = [
  [/^\/$/, 'now', now.page],
  [/^\/streamer\/([A-Za-z0-9_]{1,25})$/, 'streamer', streamer.page],
  [/^\/categories$/, 'categories', boards.categories],
  [/^\/leaderboards$/, 'leaderboards', boards.leaderboards],
  [/^\/rising$/, 'rising', boards.rising],
];

let current = null;   // {name, page}
let announced = null; // the newest cycle the server announced
let loading = null;   // the promise of the load in progress
let again = false;

function route() {
  const path = location.pathname;
  for (const [re, name, make] of routes) {
    const m = path.match(re);
    if (!m) continue;
    current = { name, page: make(m[1] ? decodeURIComponent(m[1]) : '', new URLSearchParams(location.search)) };
    for (const a of document.querySelectorAll('[data-nav]')) {
      if (a.dataset.nav === name) a.setAttribute('aria-current', 'page'); else a.removeAttribute('aria-current');
    }
    document.title = `${current.page.title} · twitch-monitor`;
    window.tm.cycle = null;
    refresh();
    return;
  }
  show(errorBox('No such page.'));
}

function refresh() {
  if (loading) { again = true; return loading; }
  loading = (async () => {
    do { again = false; await loadOnce(); } while (again);
    loading = null;
  })();
  return loading;
}

async function loadOnce() {
  const target = current;
  for (let attempt = 0; attempt < 4; attempt++) {
    try {
      const status = await get('status', {}, announced);
      const ctx = { cycle: status.cycle_id, status: status.rows[0] || {} };
      const data = await target.page.load(ctx);
      if (target !== current) return; // navigated away meanwhile
      clearCharts();
      const view = target.page.render(data, ctx);
      show(...view.nodes);
      if (view.mount) view.mount();
      window.tm.cycle = ctx.cycle;
      window.tm.renders += 1;
      window.tm.error = null;
      document.body.dataset.cycle = ctx.cycle ?? '';
      cycleLabel(ctx);
      return;
    } catch (e) {
      if (e instanceof Stale) { announced = e.current; continue; }
      window.tm.error = e.message;
      show(errorBox(e.message));
      return;
    }
  }
}

function cycleLabel(ctx) {
  const el = document.getElementById('cycle');
  const at = ctx.status.observed_at ? new Date(ctx.status.observed_at).toISOString().slice(11, 19) : '–';
  el.textContent = ctx.cycle === null ? 'no cycle yet' : `cycle ${ctx.cycle} · ${at} UTC`;
}

/** Goes to `url` inside the page (no reload). */
export function navigate(url) {
  history.pushState(null, '', url);
  route();
}

window.addEventListener('tm:navigate', (e) => navigate(e.detail));
window.addEventListener('popstate', route);
document.addEventListener('click', (e) => {
  const a = e.target.closest && e.target.closest('a[href^="/"]');
  if (!a || e.ctrlKey || e.metaKey || e.shiftKey || e.button !== 0) return;
  const href = a.getAttribute('href');
  if (href.startsWith('/api/') || href.startsWith('/assets/')) return;
  e.preventDefault();
  navigate(href);
});

// Search by login: suggestions from /api/search, Enter opens the channel.
const input = document.getElementById('search-input');
let timer = null;
input.addEventListener('input', () => {
  clearTimeout(timer);
  const q = input.value.trim().toLowerCase();
  if (!/^[a-z0-9_]{1,25}$/.test(q)) return;
  timer = setTimeout(async () => {
    try {
      const found = (await get('search', { q, limit: 10 })).rows;
      document.getElementById('search-list').replaceChildren(...found.map((r) => h('option', { value: r.login })));
    } catch { /* suggestions are optional */ }
  }, 150);
});
document.getElementById('search').addEventListener('submit', (e) => {
  e.preventDefault();
  const q = input.value.trim().toLowerCase();
  if (/^[a-z0-9_]{1,25}$/.test(q)) navigate(`/streamer/${q}`);
});

// One event per committed cycle; EventSource reconnects by itself.
const events = new EventSource('/api/events');
events.addEventListener('cycle', (ev) => {
  document.getElementById('cycle').classList.remove('down');
  const { cycle_id } = JSON.parse(ev.data);
  announced = cycle_id;
  if (cycle_id !== window.tm.cycle) refresh();
});
events.addEventListener('error', () => document.getElementById('cycle').classList.add('down'));

route();
