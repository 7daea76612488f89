// Categories, Leaderboards (daily/weekly by each metric, optionally of one
// language or category) and Rising stars. Their controls live in the URL, so
// every view has a deep link.
import { rows } from './api.js';
import { h, table, panel, num, signed, minutes, channelLink, changeClass } from './ui.js';

const METRICS = { hours_watched: 'Hours watched', avg_viewers: 'Average viewers', followers_gained: 'Followers gained', minutes_streamed: 'Time streamed' };
const go = (url) => window.dispatchEvent(new CustomEvent('tm:navigate', { detail: url }));
const validDay = (d) => (/^\d{4}-\d{2}-\d{2}$/.test(d || '') ? d : '');
const today = (status) => status.latest_day || (status.observed_at || '').slice(0, 10);

/** Navigates to `path` with `params` (empty ones dropped). */
function goWith(path, params) {
  const q = new URLSearchParams(Object.entries(params).filter(([, v]) => v));
  go(q.toString() ? `${path}?${q}` : path);
}

function dayInput(value, onchange) {
  return h('label', {}, 'Day', h('input', { type: 'date', value, onchange: (e) => onchange(e.target.value) }));
}

export function categories(_, query) {
  const day = validDay(query.get('day'));
  return {
    title: 'Categories',
    async load({ cycle, status }) {
      const d = day || today(status);
      const [live, daily] = await Promise.all([
        rows('live/categories', { limit: 100 }, cycle),
        rows('categories', { day: d, limit: 200 }, cycle),
      ]);
      return { live, daily, day: d };
    },
    render({ live, daily, day: d }) {
      const board = (name) => `/leaderboards?category=${encodeURIComponent(name)}&day=${d}`;
      const nodes = [h('h1', {}, 'Categories'), h('div', { class: 'grid' },
        panel('span-6', 'Live now', table('categories-live', [
          { key: 'rank', label: '#', num: true },
          { key: 'game_name', label: 'Category', fmt: (v) => v || '(none)' },
          { key: 'channels', label: 'Channels', num: true },
          { key: 'viewers', label: 'Viewers', num: true },
          { key: 'viewers_per_channel', label: 'Per channel', num: true, fmt: (v) => num(v, 1) },
        ], live)),
        panel('span-6', `Day ${d}`, h('div', { class: 'controls' }, dayInput(d, (v) => goWith('/categories', { day: v }))),
          table('categories-daily', [
            { key: 'rank', label: '#', num: true },
            { key: 'game_name', label: 'Category', fmt: (v) => (v ? h('a', { href: board(v) }, v) : '(none)') },
            { key: 'hours_watched', label: 'Hours watched', num: true, fmt: (v) => num(v, 1) },
            { key: 'avg_viewers', label: 'Avg viewers', num: true, fmt: (v) => num(v, 1) },
            { key: 'peak_viewers', label: 'Peak', num: true },
            { key: 'channels', label: 'Channels', num: true },
          ], daily, 'No figures for this day.')))];
      return { nodes };
    },
  };
}

export function leaderboards(_, query) {
  const sel = {
    period: query.get('period') === 'week' ? 'week' : 'day',
    day: validDay(query.get('day')),
    metric: METRICS[query.get('metric')] ? query.get('metric') : 'hours_watched',
    language: (query.get('language') || '').slice(0, 16),
    category: (query.get('category') || '').slice(0, 200),
  };
  return {
    title: 'Leaderboards',
    async load({ cycle, status }) {
      const day = sel.day || today(status);
      const [board, languages, categories] = await Promise.all([
        rows('leaderboard', { ...sel, day, limit: 100 }, cycle),
        rows('languages', { period: sel.period, day }, cycle),
        rows('categories', { day, limit: 200 }, cycle),
      ]);
      return { board, languages, categories, day };
    },
    render({ board, languages, categories, day }) {
      const change = (k) => (e) => goWith('/leaderboards', { ...sel, day, [k]: e.target.value });
      const select = (k, label, options) => h('label', {}, label, h('select', { name: k, onchange: change(k) },
        options.map(([v, t]) => h('option', { value: v, selected: v === sel[k] }, t))));
      const controls = h('div', { class: 'controls' },
        select('period', 'Period', [['day', 'Daily'], ['week', 'Weekly (ISO week)']]),
        dayInput(day, (v) => goWith('/leaderboards', { ...sel, day: v })),
        select('metric', 'Metric', Object.entries(METRICS)),
        select('language', 'Language', [['', 'All languages'], ...languages.map((l) => [l.language, l.language])]),
        select('category', 'Category', [['', 'All categories'], ...categories.map((c) => [c.game_name, c.game_name])]));
      const fmt = sel.metric === 'minutes_streamed' ? minutes
        : sel.metric === 'followers_gained' ? signed : (v) => num(v, 1);
      const nodes = [h('h1', {}, 'Leaderboards'), panel('span-12', null, controls,
        table('leaderboard', [
          { key: 'rank', label: '#', num: true },
          { key: 'login', label: 'Channel', fmt: (v) => channelLink(v) },
          { key: 'value', label: METRICS[sel.metric], num: true, fmt },
        ], board, 'Nobody ranks here yet.'),
        h('p', { class: 'legend-note' }, 'Language and category rankings count each channel-day under its main language and main game.'))];
      return { nodes };
    },
  };
}

export function rising(_, query) {
  const day = validDay(query.get('day'));
  return {
    title: 'Rising stars',
    async load({ cycle, status }) {
      const d = day || today(status);
      return { stars: await rows('rising', { day: d, limit: 100 }, cycle), day: d };
    },
    render({ stars, day: d }) {
      const pct = (v) => (v === null || v === undefined ? '–' : `${v > 0 ? '+' : ''}${num(v, 1)}%`);
      const nodes = [h('h1', {}, 'Rising stars'), panel('span-12', null,
        h('div', { class: 'controls' }, dayInput(d, (v) => goWith('/rising', { day: v }))),
        table('rising', [
          { key: 'rank', label: '#', num: true },
          { key: 'login', label: 'Channel', fmt: (v) => channelLink(v) },
          { key: 'account_age_days', label: 'Account age (days)', num: true },
          { key: 'followers_gained_7d', label: 'Followers 7 d', num: true, fmt: signed, cls: changeClass },
          { key: 'follower_growth_pct_7d', label: 'Follower growth', num: true, fmt: pct, cls: changeClass },
          { key: 'avg_viewers_7d', label: 'Avg viewers 7 d', num: true, fmt: (v) => num(v, 1) },
          { key: 'viewer_growth_pct_7d', label: 'Viewer growth', num: true, fmt: pct, cls: changeClass },
          { key: 'score', label: 'Score', num: true, fmt: (v) => num(v, 1) },
        ], stars, 'No rising stars on this day.'),
        h('p', { class: 'legend-note' }, 'Channels two years old or younger, ranked by 7-day follower and viewer growth.'))];
      return { nodes };
    },
  };
}
