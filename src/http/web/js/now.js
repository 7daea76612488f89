// Now: the live leaderboard, live categories, viewers over the last day,
// ingest health, and recent alerts once the service has a live.alerts view.
import { rows } from './api.js';
import { h, table, panel, tile, num, signed, minutes, time, dateTime, channelLink, changeClass } from './ui.js';
import { chart, secs } from './chart.js';

export function page() {
  return {
    title: 'Now',
    async load({ cycle, status }) {
      const [board, categories, ingest, hours, alerts] = await Promise.all([
        rows('live/leaderboard', { limit: 100 }, cycle),
        rows('live/categories', { limit: 15 }, cycle),
        rows('live/ingest', { limit: 10 }, cycle),
        rows('viewership', { hours: 24 }, cycle),
        status.alerts_view ? rows('live/alerts', { limit: 10 }, cycle) : Promise.resolve(null),
      ]);
      return { board, categories, ingest, hours, alerts };
    },
    render({ board, categories, ingest, hours, alerts }, { status }) {
      const last = ingest[0];
      const tiles = h('div', { class: 'tiles span-12' },
        tile('Live channels', num(status.live_streams)),
        tile('Live viewers', num(status.live_viewers)),
        tile('Live categories', num(status.live_categories)),
        tile('Last cycle', last ? `#${last.cycle_id} · ${time(last.finished_at)}` : '–'),
        tile('Rate limit left', last ? num(last.rate_limit_remaining) : '–'),
        tile('Errors (last 10 cycles)', num(ingest.reduce((n, r) => n + r.errors, 0))));

      // Hourly averages, then the live total as the last point.
      const xs = hours.map((r) => secs(r.hour));
      const ys = hours.map((r) => r.viewers);
      if (status.observed_at) { xs.push(secs(status.observed_at)); ys.push(status.live_viewers); }
      const viewers = chart('now-viewers', {
        series: [{ label: 'Viewers' }],
        data: [xs, ys],
        height: 220,
      });

      const leaderboard = table('live-leaderboard', [
        { key: 'rank', label: '#', num: true },
        { key: 'login', label: 'Channel', fmt: (v) => channelLink(v) },
        { key: 'viewer_count', label: 'Viewers', num: true },
        { key: 'viewer_change_5m', label: '5 min', num: true, fmt: signed, cls: changeClass },
        { key: 'uptime_minutes', label: 'Uptime', num: true, fmt: minutes },
        { key: 'game_name', label: 'Game' },
        { key: 'title', label: 'Title', hide: true, fmt: (v) => h('span', { class: 'muted' }, (v || '').slice(0, 60)) },
      ], board, 'No live streams in the last cycle.');

      const top = Math.max(1, ...categories.map((c) => c.viewers));
      const cats = table('live-categories', [
        { key: 'game_name', label: 'Category', fmt: (v) => v || '(none)' },
        { key: 'channels', label: 'Channels', num: true },
        { key: 'viewers', label: 'Viewers', num: true },
        { key: 'share', label: '', fmt: (_, r) => h('div', { style: 'width:5rem' }, h('div', { class: 'bar', style: `width:${Math.round(100 * r.viewers / top)}%` })) },
      ], categories);

      const health = table('ingest-status', [
        { key: 'cycle_id', label: 'Cycle', num: true },
        { key: 'finished_at', label: 'Finished', fmt: time },
        { key: 'streams_seen', label: 'Streams', num: true },
        { key: 'requests', label: 'Requests', num: true },
        { key: 'rate_limit_remaining', label: 'Rate limit left', num: true },
        { key: 'errors', label: 'Errors', num: true, cls: (v) => (v ? 'down' : '') },
        { key: 'last_error', label: 'Last error', fmt: (v) => h('span', { class: 'wrap' }, v || '') },
      ], ingest, 'No cycle has finished yet.');

      const nodes = [h('div', { class: 'grid' },
        tiles,
        panel('span-12', 'Viewers, last 24 hours (hourly average; last point: now)', viewers.el),
        panel('span-8', 'Live leaderboard', leaderboard),
        panel('span-4', 'Live categories', cats),
        alerts ? panel('span-12', 'Recent alerts', alertTable('recent-alerts', alerts)) : null,
        panel('span-12', 'Ingest health', health))];
      return { nodes, mount: viewers.mount };
    },
  };
}

/** Alerts, one row per alert (live.alerts has a row per delivery target). */
export function alertTable(id, alerts, withChannel = true) {
  const seen = new Set();
  const one = alerts.filter((a) => !seen.has(a.alert_id) && seen.add(a.alert_id));
  return table(id, [
    { key: 'fired_at', label: 'Fired', fmt: dateTime },
    withChannel ? { key: 'login', label: 'Channel', fmt: (v) => (v ? channelLink(v) : '–') } : null,
    { key: 'rule', label: 'Rule' },
    { key: 'kind', label: 'Kind', hide: true },
    { key: 'details', label: 'What happened', fmt: (v) => h('span', { class: 'wrap' }, summary(v)) },
    { key: 'alert_id', label: 'Id', hide: true, fmt: (v) => h('span', { class: 'muted' }, v.slice(0, 8)) },
  ].filter(Boolean), one, 'No alerts.');
}

/** The alert's one-line summary from its details (JSON text). */
function summary(details) {
  try {
    const d = typeof details === 'string' ? JSON.parse(details) : details;
    return d.summary || JSON.stringify(d);
  } catch {
    return String(details);
  }
}
