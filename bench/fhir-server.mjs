// A loopback FHIR R4 server for the no-prefetch run: answers every request after FHIR_DELAY_MS, as a
// remote EHR would, with what the examples would have prefetched (a patient's Coverage search gives
// the Coverages and payers of that patient's `coverage` prefetch, so the answers match the prefetch
// run), else the fixtures under fhir-resources/. It knows only what the service asks a FHIR server
// for: reads, and Coverage searches by patient and status with `_include=Coverage:payor`.
// (test/support/fhir-server.ts is the test suite's richer fake; the bench runs plain JavaScript
// against the built service, so it has its own.)
//
// Env: PORT, FHIR_DELAY_MS.
import { createServer } from 'node:http';
import { exampleMix, fixtures } from './lib/requests.mjs';

const delayMs = Number(process.env.FHIR_DELAY_MS ?? 20);
const port = Number(process.env.PORT);
const base = `http://127.0.0.1:${port}/fhir`;
const store = new Map(Object.values(fixtures()).flat().map((r) => [`${r.resourceType}/${r.id}`, r]));

const prefetched = new Map();
for (const { request } of exampleMix()) {
  const entries = (request.prefetch?.coverage?.entry ?? []).map((e) => e.resource);
  if (entries.length > 0) prefetched.set(request.context.patientId, entries);
  for (const resource of [...entries, request.prefetch?.encounter, request.prefetch?.patient]) {
    if (resource?.id) store.set(`${resource.resourceType}/${resource.id}`, resource);
  }
}

const refersTo = (reference, key) => typeof reference === 'string' && (reference === key || reference.endsWith(`/${key}`));

function coverageSearch(params) {
  const patient = params.get('patient') ?? params.get('beneficiary');
  const statuses = params.get('status')?.split(',');
  const patientId = patient?.replace(/^Patient\//, '');
  const candidates = prefetched.get(patientId) ?? [...store.values()];
  const matches = candidates.filter(
    (r) =>
      r.resourceType === 'Coverage' &&
      (!patient || refersTo(r.beneficiary?.reference, patient.includes('/') ? patient : `Patient/${patient}`)) &&
      (!statuses || statuses.includes(r.status)),
  );
  const included = new Map();
  if (params.getAll('_include').includes('Coverage:payor')) {
    for (const coverage of matches) {
      for (const payor of coverage.payor ?? []) {
        const key = /([A-Z][A-Za-z]+\/[A-Za-z0-9\-.]+)$/.exec(payor.reference ?? '')?.[1];
        if (key && store.has(key)) included.set(key, store.get(key));
      }
    }
  }
  const entry = [
    ...matches.map((r) => ({ fullUrl: `${base}/Coverage/${r.id}`, resource: r, search: { mode: 'match' } })),
    ...[...included].map(([key, r]) => ({ fullUrl: `${base}/${key}`, resource: r, search: { mode: 'include' } })),
  ];
  return { resourceType: 'Bundle', type: 'searchset', total: matches.length, ...(entry.length > 0 ? { entry } : {}) };
}

function answer(req) {
  const url = new URL(req.url, base);
  const [, fhir, type, id, extra] = url.pathname.split('/');
  if (req.method !== 'GET' || fhir !== 'fhir' || !type || extra !== undefined) return [404, { resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'not-found' }] }];
  if (id) {
    const found = store.get(`${type}/${decodeURIComponent(id)}`);
    return found ? [200, found] : [404, { resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'not-found' }] }];
  }
  if (type === 'Coverage') return [200, coverageSearch(url.searchParams)];
  return [200, { resourceType: 'Bundle', type: 'searchset', total: 0 }];
}

const server = createServer((req, res) => {
  req.resume();
  const [status, body] = answer(req);
  const text = JSON.stringify(body);
  setTimeout(() => {
    res.writeHead(status, { 'content-type': 'application/fhir+json; charset=utf-8', 'content-length': Buffer.byteLength(text) });
    res.end(text);
  }, delayMs);
});
server.keepAliveTimeout = 60_000;
server.listen(port, '127.0.0.1', () => process.stdout.write(`listening on ${base}, ${delayMs} ms per answer\n`));
process.on('SIGTERM', () => { server.close(() => process.exit(0)); server.closeAllConnections(); });
