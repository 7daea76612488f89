// The data API client: every read names the cycle it belongs to, so a page
// renders only answers of one cycle (the server answers 409 once it has moved on).

/** The server moved on to another cycle while the page was reading. */
export class Stale extends Error {
  constructor(current) { super(`cycle ${current} is current now`); this.current = current; }
}

/** An answer other than 2xx or 409. */
export class ApiError extends Error {
  constructor(status, message) { super(message); this.status = status; }
}

/** GET /api/<path> with `params` (undefined/null/"" skipped), pinned to `cycle`. */
export async function get(path, params = {}, cycle = null) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v !== undefined && v !== null && v !== '') q.set(k, v);
  }
  if (cycle !== null && cycle !== undefined) q.set('cycle', cycle);
  const qs = q.toString();
  const res = await fetch(`/api/${path}${qs ? '?' + qs : ''}`, { credentials: 'same-origin' });
  let body = null;
  try { body = await res.json(); } catch { /* not JSON */ }
  if (res.status === 409) throw new Stale(body && body.cycle_id);
  if (!res.ok) throw new ApiError(res.status, (body && body.error) || res.statusText);
  return body;
}

/** Rows of one answer. */
export async function rows(path, params, cycle) {
  return (await get(path, params, cycle)).rows;
}
