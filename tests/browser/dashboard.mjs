// Drives Debian's headless Chromium over the dashboard with playwright-core and
// reports what the browser saw as JSON lines on stdout, for tests/it/dashboard.rs
// (and, with --bench, timings for benches/dashboard.rs).
//
//   node dashboard.mjs --base http://127.0.0.1:PORT --streamer LOGIN --out DIR [--bench]
//
// Test mode prints {"type":"seen",…} once every page has rendered, then waits
// for a line "next N" on stdin (the test has committed cycle N), checks the
// open pages redraw for cycle N without reloading, prints {"type":"updated",…}
// and exits. Nothing here sleeps for readiness: every wait polls a condition
// in the page with a bound.
import { chromium } from 'playwright-core';
import { mkdirSync } from 'node:fs';
import { createInterface } from 'node:readline';

const args = Object.fromEntries(process.argv.slice(2).reduce((acc, a, i, all) => {
  if (a.startsWith('--')) acc.push([a.slice(2), all[i + 1] && !all[i + 1].startsWith('--') ? all[i + 1] : true]);
  return acc;
}, []));
const base = args.base;
const out = args.out || 'browser-output';
const streamer = args.streamer;
const WAIT = Number(args.timeout || 30000);
mkdirSync(out, { recursive: true });

const browser = await chromium.launch({
  executablePath: process.env.TM_CHROMIUM || '/usr/bin/chromium',
  headless: true,
  // Playwright gives each launch a fresh profile directory (the
  // --user-data-dir); the rest keeps Chromium off the network.
  args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking',
    '--disable-component-update', '--no-first-run', '--disable-sync'],
});

const problems = [];
async function open(viewport) {
  const context = await browser.newContext({ viewport });
  const page = await context.newPage();
  page.on('console', (m) => { if (m.type() === 'error') problems.push(`console error on ${page.url()}: ${m.text()}`); });
  page.on('pageerror', (e) => problems.push(`page error on ${page.url()}: ${e.message}`));
  page.on('requestfailed', (r) => problems.push(`request failed: ${r.url()} ${r.failure()?.errorText}`));
  page.on('response', (r) => { if (r.status() >= 400) problems.push(`HTTP ${r.status()}: ${r.url()}`); });
  return page;
}

/** Waits (bounded) until the page has drawn a cycle (`cycle`, when given). */
async function rendered(page, cycle = null) {
  await page.waitForFunction((c) => window.tm && window.tm.renders > 0 && window.tm.cycle !== null
    && (c === null || window.tm.cycle === c) && !document.querySelector('.error'), cycle, { timeout: WAIT })
    .catch(async (e) => {
      const state = await page.evaluate(() => ({ tm: window.tm && { cycle: window.tm.cycle, renders: window.tm.renders, error: window.tm.error }, text: document.body.innerText.slice(0, 500) }));
      throw new Error(`${page.url()} did not render${cycle === null ? '' : ` cycle ${cycle}`}: ${JSON.stringify(state)} (${e.message})`);
    });
}

const cells = (page, id, keys) => page.evaluate(([id, keys]) =>
  [...document.querySelectorAll(`#${id} tbody tr`)].map((tr) => Object.fromEntries(keys.map((k) => {
    const td = tr.querySelector(`td[data-key="${k}"]`);
    return [k, td ? td.dataset.value : null];
  }))), [id, keys]);

const alerts = (page, id) => cells(page, id, ['alert_id', 'login', 'rule']);
const leaderboard = (page) => cells(page, 'live-leaderboard', ['rank', 'login', 'viewer_count', 'game_name']);
const daily = (page) => cells(page, 'streamer-daily', ['day', 'minutes_streamed', 'hours_watched', 'avg_viewers', 'peak_viewers', 'sessions', 'followers_gained', 'main_game']);
const curve = (page) => page.evaluate(() => {
  const u = window.tm.charts.viewers;
  const xs = u ? u.data[0] : [], ys = u ? u.data[1] : [];
  const points = [];
  for (let i = 0; i < xs.length; i++) if (ys[i] !== null && ys[i] !== undefined) points.push([xs[i], ys[i]]);
  // The chat overlay: [minute, messages, sentiment] where the chart has them.
  const msgs = u && u.data[2], sent = u && u.data[3];
  const chat = [];
  if (msgs) for (let i = 0; i < xs.length; i++) if (msgs[i] !== null && msgs[i] !== undefined) chat.push([xs[i], msgs[i], sent[i]]);
  const labels = u ? u.series.map((s) => s.label) : [];
  const canvas = document.querySelector('#chart-viewers canvas');
  return { points, chat, labels, marks: (window.tm.marks || []).map((m) => ({ kind: m.kind, x: m.x, label: m.label })), drawn: !!canvas && canvas.width > 0 };
});
const state = (page) => page.evaluate(() => ({
  boot: window.tm.boot, cycle: window.tm.cycle, renders: window.tm.renders,
  navigations: performance.getEntriesByType('navigation').length,
}));

if (args.bench) {
  // Time to the first drawn chart after navigation, median of a few loads,
  // and the page's transfer size (compressed) with and without uPlot.
  const result = {};
  for (const [name, path, chartId] of [['now', '/', 'now-viewers'], ['streamer', `/streamer/${streamer}`, 'viewers']]) {
    const times = [];
    let weight = null;
    for (let i = 0; i < Number(args.runs || 5); i++) {
      const page = await open({ width: 1280, height: 800 });
      const sizes = [];
      page.on('requestfinished', async (r) => { const s = await r.sizes().catch(() => null); if (s) sizes.push([r.url(), s.responseBodySize + s.responseHeadersSize]); });
      await page.goto(base + path);
      await page.waitForFunction((id) => window.tm && window.tm.timings[id] !== undefined, chartId, { timeout: 60000 });
      times.push(await page.evaluate((id) => window.tm.timings[id], chartId));
      await page.waitForLoadState('networkidle');
      if (weight === null) {
        const total = sizes.reduce((n, [, s]) => n + s, 0);
        const uplot = sizes.filter(([u]) => u.includes('/vendor/uPlot')).reduce((n, [, s]) => n + s, 0);
        weight = { total_bytes: total, without_chart_library_bytes: total - uplot, chart_library_bytes: uplot, requests: sizes.length };
      }
      await page.context().close();
    }
    times.sort((a, b) => a - b);
    result[name] = { first_chart_ms: times, median_ms: times[Math.floor(times.length / 2)], ...weight };
  }
  console.log(JSON.stringify({ type: 'bench', ...result, problems }));
  await browser.close();
  process.exit(0);
}

// Every page at desktop size, then Now and the streamer page at phone width.
const pages = [['now', '/'], ['streamer', `/streamer/${streamer}`], ['categories', '/categories'],
  ['leaderboards', '/leaderboards'], ['leaderboards-weekly', '/leaderboards?period=week&metric=avg_viewers'], ['rising', '/rising']];
const seen = { type: 'seen', pages: {}, problems };
const live = {};
for (const [name, path] of pages) {
  const page = await open({ width: 1280, height: 800 });
  await page.goto(base + path);
  await rendered(page);
  await page.screenshot({ path: `${out}/${name}.png` });
  seen.pages[name] = await state(page);
  seen.pages[name].text = (await page.evaluate(() => document.querySelector('main').innerText)).slice(0, 2000);
  if (name === 'now') { seen.leaderboard = await leaderboard(page); seen.now_alerts = await alerts(page, 'recent-alerts'); live.now = page; }
  else if (name === 'streamer') { seen.curve = await curve(page); seen.daily = await daily(page); seen.streamer_alerts = await alerts(page, 'streamer-alerts'); live.streamer = page; }
  else await page.context().close();
}
for (const [name, path] of [['now-phone', '/'], ['streamer-phone', `/streamer/${streamer}`]]) {
  const page = await open({ width: 390, height: 844 });
  await page.goto(base + path);
  await rendered(page);
  await page.screenshot({ path: `${out}/${name}.png`, fullPage: true });
  seen.pages[name] = await state(page);
  seen.pages[name].overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  await page.context().close();
}
// Search: typing a prefix offers the channel, Enter opens its page in place.
{
  const page = live.now;
  await page.fill('#search-input', streamer.slice(0, 3));
  await page.waitForFunction((s) => [...document.querySelectorAll('#search-list option')].some((o) => o.value === s), streamer, { timeout: WAIT });
  await page.fill('#search-input', streamer);
  await page.press('#search-input', 'Enter');
  await page.waitForFunction((s) => location.pathname === `/streamer/${s}` && window.tm.charts.viewers, streamer, { timeout: WAIT });
  seen.search = await state(page);
  await page.goBack();
  await page.waitForFunction(() => location.pathname === '/' && document.querySelector('#live-leaderboard'), null, { timeout: WAIT });
  await rendered(page);
}
console.log(JSON.stringify(seen));

// The test commits the next cycle and tells us its id.
const lines = createInterface({ input: process.stdin });
for await (const line of lines) {
  const m = line.match(/^next (\d+)$/);
  if (!m) continue;
  const cycle = Number(m[1]);
  await rendered(live.now, cycle);
  await rendered(live.streamer, cycle);
  await live.now.screenshot({ path: `${out}/now-next.png` });
  console.log(JSON.stringify({
    type: 'updated', problems,
    now: await state(live.now), streamer: await state(live.streamer),
    leaderboard: await leaderboard(live.now), curve: await curve(live.streamer), daily: await daily(live.streamer),
  }));
  break;
}
await browser.close();
