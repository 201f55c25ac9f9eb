// One load run with autocannon: the same options for a baseline and for the service, so their
// figures can be divided. Latencies are collected from every response (autocannon's histogram
// rounds to whole milliseconds, too coarse for a service that answers in one).
import autocannon from 'autocannon';

/** The q-quantile of sorted numbers (nearest rank). */
export function quantile(sorted, q) {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
}

/**
 * Drives `baseUrl` with the requests (each `{ path, body, tokens? }`; autocannon loops over them
 * on every connection). `tokens`, when given, is a pool `{ list, next }` of pre-signed JWTs for
 * that request's URL: each request sent takes the next one, so none is sent twice to one process
 * (the caller rewinds `next` for a fresh process).
 *
 * Runs for `durationS` seconds, or `amount` requests when given. `overallRate` caps the request
 * rate (latencies are then corrected for coordinated omission by autocannon).
 */
export async function runLoad({ baseUrl, requests, connections, durationS, amount, overallRate, timeoutS = 10 }) {
  const latencies = [];
  const statuses = new Map();
  const toAutocannon = requests.map((r) => {
    const request = {
      method: 'POST',
      path: r.path,
      headers: { 'content-type': 'application/json', ...(r.headers ?? {}) },
      body: r.body,
    };
    if (r.tokens) {
      const pool = r.tokens;
      request.setupRequest = (req) => {
        if (pool.next >= pool.list.length) throw new Error(`pre-signed tokens for ${r.path} ran out after ${pool.next}`);
        req.headers = { ...req.headers, authorization: `Bearer ${pool.list[pool.next++]}` };
        return req;
      };
    }
    return request;
  });

  const started = process.hrtime.bigint();
  const instance = autocannon({
    url: baseUrl,
    connections,
    ...(amount ? { amount } : { duration: durationS }),
    ...(overallRate ? { overallRate } : {}),
    timeout: timeoutS,
    requests: toAutocannon,
  });
  instance.on('response', (_client, statusCode, _bytes, responseTime) => {
    latencies.push(responseTime);
    statuses.set(statusCode, (statuses.get(statusCode) ?? 0) + 1);
  });
  const result = await instance;
  const elapsedS = Number(process.hrtime.bigint() - started) / 1e9;
  latencies.sort((a, b) => a - b);
  const ok = [...statuses].filter(([s]) => s >= 200 && s < 300).reduce((n, [, c]) => n + c, 0);
  return {
    requests: latencies.length,
    ok,
    statuses: Object.fromEntries(statuses),
    errors: result.errors,
    timeouts: result.timeouts,
    elapsedS,
    rps: ok / elapsedS,
    p50: quantile(latencies, 0.5),
    p99: quantile(latencies, 0.99),
    // With a capped rate, autocannon's histogram holds the latencies corrected for coordinated omission.
    p99Corrected: overallRate ? result.latency.p99 : undefined,
  };
}

/** Whether a run got an answer, and a 2xx, to every request it sent. */
export function runProblems(run) {
  const problems = [];
  if (run.errors > 0) problems.push(`${run.errors} connection errors (${run.timeouts} timeouts)`);
  const bad = Object.entries(run.statuses).filter(([s]) => Number(s) < 200 || Number(s) >= 300);
  if (bad.length > 0) problems.push(`non-2xx answers: ${bad.map(([s, n]) => `${n}× ${s}`).join(', ')}`);
  if (run.requests === 0) problems.push('no answer at all');
  return problems;
}
