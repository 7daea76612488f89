// Time-series charts over the vendored uPlot (a global from its IIFE build):
// x in Unix seconds, one y scale per unit, optional vertical marks (session
// boundaries, game changes) drawn on the canvas. Every chart is registered in
// window.tm.charts under its id, and its first draw time (ms since navigation)
// in window.tm.timings, which the browser tests and the benchmark read.
import { h } from './ui.js';

const palette = ['#6441a5', '#e0892b', '#1a7f37', '#1f6feb', '#c62828'];
const charts = new Set();

function marksPlugin(marks) {
  return {
    hooks: {
      draw: [(u) => {
        const { ctx, bbox } = u;
        const dpr = window.devicePixelRatio || 1;
        for (const m of marks) {
          const x = Math.round(u.valToPos(m.x, 'x', true));
          if (x < bbox.left || x > bbox.left + bbox.width) continue;
          ctx.save();
          ctx.strokeStyle = m.color || '#999';
          ctx.lineWidth = dpr;
          ctx.setLineDash((m.dash || []).map((d) => d * dpr));
          ctx.beginPath();
          ctx.moveTo(x, bbox.top);
          ctx.lineTo(x, bbox.top + bbox.height);
          ctx.stroke();
          if (m.label) {
            ctx.fillStyle = m.color || '#666';
            ctx.font = `${11 * dpr}px system-ui, sans-serif`;
            ctx.fillText(m.label, x + 3 * dpr, bbox.top + (12 + 12 * (m.row || 0)) * dpr);
          }
          ctx.restore();
        }
      }],
    },
  };
}

/**
 * A chart to mount once its element is in the page.
 * series: [{label, scale?, color?, points?}], data: [xs, ys1, ys2, …],
 * scales: {name: {range?: [min, max]}}, axes: [{scale, label}] beyond x.
 */
export function chart(id, { series, data, marks = [], height = 260, scales = {}, axes = [] }) {
  const el = h('div', { class: 'chart', id: `chart-${id}` });
  const mount = () => {
    const sparse = data[0].length < 60;
    const opts = {
      width: Math.max(280, el.clientWidth || 600),
      height,
      // Every time on the dashboard is UTC, as the data's days are.
      tzDate: (ts) => uPlot.tzDate(new Date(ts * 1e3), 'Etc/UTC'),
      scales: { x: { time: true }, ...Object.fromEntries(Object.entries(scales).map(([k, v]) => [k, v.range ? { range: v.range } : {}])) },
      series: [{}, ...series.map((s, i) => ({
        label: s.label,
        scale: s.scale || 'y',
        stroke: s.color || palette[i % palette.length],
        width: 1.5,
        spanGaps: false,
        points: { show: s.points ?? sparse, size: 5 },
      }))],
      axes: [{}, ...(axes.length ? axes : [{ scale: 'y' }]).map((a, i) => ({
        scale: a.scale, label: a.label, side: i ? 1 : 3, grid: { show: i === 0 }, size: 60, values: ticks,
      }))],
      plugins: [marksPlugin(marks)],
      hooks: {
        draw: [() => {
          window.tm.timings[id] ??= performance.now();
        }],
      },
    };
    const u = new uPlot(opts, data, el);
    window.tm.charts[id] = u;
    charts.add(u);
  };
  return { el, mount };
}

/** Y tick labels that fit the axis: 101.6k rather than a clipped 101,600. */
function ticks(u, splits) {
  return splits.map((v) => {
    if (v === null || v === undefined) return '';
    const a = Math.abs(v);
    if (a >= 1e6) return `${+(v / 1e6).toFixed(2)}M`;
    if (a >= 1e4) return `${+(v / 1e3).toFixed(1)}k`;
    return v.toLocaleString('en-US', { maximumFractionDigits: 2 });
  });
}

/** Destroys the charts of the page being left. */
export function clearCharts() {
  for (const u of charts) u.destroy();
  charts.clear();
  window.tm.charts = {};
}

window.addEventListener('resize', () => {
  for (const u of charts) {
    const w = u.root.parentElement ? u.root.parentElement.clientWidth : 0;
    if (w && Math.abs(w - u.width) > 4) u.setSize({ width: w, height: u.height });
  }
});

/** ISO timestamp → Unix seconds (uPlot's x). */
export const secs = (iso) => Date.parse(iso) / 1000;
