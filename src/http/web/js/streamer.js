// Streamer: the viewer curve per cycle over a chosen range with session
// boundaries and game changes marked (and chat activity and sentiment overlaid
// once chat is ingested), follower growth, its recent alerts, the daily
// table, rank history and sessions.
import { rows } from './api.js';
import { h, table, panel, tile, num, signed, minutes, dateTime, changeClass } from './ui.js';
import { chart, secs } from './chart.js';
import { alertTable } from './now.js';

const RANGES = { '6h': 6, '24h': 24, '3d': 72, '7d': 168, '30d': 720 };
const METRICS = ['hours_watched', 'avg_viewers', 'followers_gained', 'minutes_streamed'];

export function page(login, query) {
  const range = RANGES[query.get('range')] ? query.get('range') : '24h';
  return {
    title: login,
    async load({ cycle, status }) {
      const to = status.observed_at || new Date().toISOString();
      const from = new Date(Date.parse(to) - RANGES[range] * 3600e3).toISOString();
      const base = `streamer/${encodeURIComponent(login)}`;
      const [profile, viewers, sessions, followers, daily, ranks, chat, alerts] = await Promise.all([
        rows(base, {}, cycle),
        rows(`${base}/viewers`, { from, to }, cycle),
        rows(`${base}/sessions`, { from, to }, cycle),
        rows(`${base}/followers`, { from, to }, cycle),
        rows(`${base}/daily`, {}, cycle),
        rows(`${base}/ranks`, {}, cycle),
        rows(`${base}/chat`, { from, to }, cycle),
        rows(`${base}/alerts`, { limit: 20 }, cycle),
      ]);
      return { profile: profile[0] || {}, viewers, sessions, followers, daily, ranks, chat, alerts };
    },
    render(d) {
      const p = d.profile;
      const name = p.display_name || p.login || login;
      const head = h('div', { class: 'profile' },
        h('div', {},
          h('h1', {}, name, ' ', p.viewer_count !== null && p.viewer_count !== undefined ? h('span', { class: 'badge' }, 'LIVE') : null),
          h('div', { class: 'muted' }, p.login || login, p.broadcaster_type ? ` · ${p.broadcaster_type}` : '',
            p.created_at ? ` · since ${p.created_at.slice(0, 10)}` : '')));
      const tiles = h('div', { class: 'tiles' },
        tile('Viewers now', num(p.viewer_count)),
        tile('5 min', h('span', { class: changeClass(p.viewer_change_5m) }, signed(p.viewer_change_5m))),
        tile('Live rank', p.live_rank ? `#${p.live_rank}` : '–'),
        tile('Uptime', minutes(p.uptime_minutes)),
        tile('Game', p.game_name || '–'),
        tile('Followers', num(p.followers_total)));

      const ranges = h('div', { class: 'controls' }, h('label', {}, 'Range',
        h('select', { id: 'range', onchange: (e) => go(`/streamer/${login}?range=${e.target.value}`) },
          Object.keys(RANGES).map((r) => h('option', { value: r, selected: r === range }, `last ${r}`)))));

      const curve = viewerChart(d.viewers, d.chat);
      const follows = chart('followers', {
        series: [{ label: 'Followers' }],
        data: [d.followers.map((r) => secs(r.observed_at)), d.followers.map((r) => r.followers_total)],
        height: 180,
      });
      const nodes = [head, tiles, h('div', { class: 'grid', style: 'margin-top:1rem' },
        panel('span-12', 'Viewers', ranges, curve.el,
          h('p', { class: 'legend-note' }, 'One point per ingest cycle. Dashed lines: session start/end; dotted: game changes.',
            d.chat.length ? ' Chat: messages per minute and sentiment (−1…1).' : ' Chat activity and sentiment appear here once chat is ingested.')),
        panel('span-6', 'Followers', d.followers.length ? follows.el : h('p', { class: 'muted' }, 'No follower totals in this range.')),
        panel('span-6', 'Rank history (daily leaderboards)', rankTable(d.ranks)),
        panel('span-12', 'Alerts', alertTable('streamer-alerts', d.alerts, false)),
        panel('span-12', 'Daily', dailyTable(d.daily)),
        panel('span-12', 'Sessions', sessionTable(d.sessions)))];
      const mount = () => { curve.mount(); if (d.followers.length) follows.mount(); };
      return { nodes, mount };
    },
  };
}

const go = (url) => window.dispatchEvent(new CustomEvent('tm:navigate', { detail: url }));

/** Points per snapshot; a gap (null) between sessions; marks at boundaries and game changes. */
function viewerChart(points, chat) {
  const xs = [], ys = [], marks = [];
  let prev = null;
  for (const r of points) {
    const x = secs(r.observed_at);
    if (!prev || prev.session_id !== r.session_id) {
      if (prev) {
        marks.push({ x: secs(prev.observed_at), color: '#888', dash: [4, 3], label: 'end', kind: 'end' });
        xs.push((secs(prev.observed_at) + x) / 2); ys.push(null);
      }
      marks.push({ x, color: '#1a7f37', dash: [4, 3], label: r.game_name || 'start', kind: 'start' });
    } else if (prev.game_name !== r.game_name) {
      marks.push({ x, color: '#6441a5', dash: [1, 3], label: r.game_name || '(none)', row: 1, kind: 'game' });
    }
    xs.push(x); ys.push(r.viewer_count);
    prev = r;
  }
  window.tm.marks = marks;
  const series = [{ label: 'Viewers' }];
  const axes = [{ scale: 'y', label: 'viewers' }];
  const scales = {};
  let data = [xs, ys];
  if (chat.length) {
    const joined = uPlot.join([[xs, ys], [chat.map((c) => secs(c.minute)), chat.map((c) => c.messages), chat.map((c) => c.sentiment_mean)]]);
    data = joined;
    series.push({ label: 'Chat msgs/min', scale: 'msgs', points: false }, { label: 'Sentiment', scale: 'sent', points: false });
    axes.push({ scale: 'msgs', label: 'msgs/min' });
    scales.sent = { range: [-1, 1] };
  }
  return chart('viewers', { series, data, marks, height: 300, axes, scales });
}

function dailyTable(daily) {
  return table('streamer-daily', [
    { key: 'day', label: 'Day' },
    { key: 'minutes_streamed', label: 'Streamed', num: true, fmt: minutes },
    { key: 'hours_watched', label: 'Hours watched', num: true, fmt: (v) => num(v, 1) },
    { key: 'avg_viewers', label: 'Avg viewers', num: true, fmt: (v) => num(v, 1) },
    { key: 'peak_viewers', label: 'Peak viewers', num: true },
    { key: 'sessions', label: 'Sessions', num: true },
    { key: 'followers_gained', label: 'Followers gained', num: true, fmt: signed, cls: changeClass },
    { key: 'main_game', label: 'Main game' },
    { key: 'language', label: 'Language', hide: true },
  ], daily, 'No daily figures yet.');
}

function rankTable(ranks) {
  const byDay = new Map();
  for (const r of ranks) {
    if (!byDay.has(r.day)) byDay.set(r.day, { day: r.day });
    byDay.get(r.day)[r.metric] = r.rank;
  }
  const days = [...byDay.values()].sort((a, b) => b.day.localeCompare(a.day));
  return table('rank-history', [{ key: 'day', label: 'Day' },
    ...METRICS.map((m) => ({ key: m, label: m.replace('_', ' '), num: true, fmt: (v) => (v ? `#${v}` : '–') }))],
  days, 'Not in a daily top 100 in the last 30 days.');
}

function sessionTable(sessions) {
  return table('sessions', [
    { key: 'started_at', label: 'Started', fmt: dateTime },
    { key: 'ended_at', label: 'Ended', fmt: (v) => (v ? dateTime(v) : h('span', { class: 'badge' }, 'LIVE')) },
    { key: 'duration_minutes', label: 'Duration', num: true, fmt: minutes },
    { key: 'avg_viewers', label: 'Avg viewers', num: true, fmt: (v) => num(v, 1) },
    { key: 'peak_viewers', label: 'Peak', num: true },
    { key: 'hours_watched', label: 'Hours watched', num: true, fmt: (v) => num(v, 1) },
    { key: 'games', label: 'Games', fmt: (v) => (v || []).join(', ') },
  ], sessions.slice().reverse(), 'No sessions in this range.');
}
