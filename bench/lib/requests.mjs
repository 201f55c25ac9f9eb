// The requests the bench sends: every example in cds-hooks/ that answers 200 (one per decision-table
// row, every hook, full prefetch), the same requests with nothing prefetched, and one order-sign
// carrying 50 draft orders.
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

export const root = new URL('../../', import.meta.url).pathname;
const readJson = (path) => JSON.parse(readFileSync(path, 'utf8'));

/** The prefetch keys the service declares (src/hooks/service-definitions.ts PREFETCH). */
const DECLARED_PREFETCH = ['patient', 'coverage', 'encounter'];

/** Every 200 example of cds-hooks/examples.json as `{ name, row, path, request }`. */
export function exampleMix() {
  return readJson(join(root, 'cds-hooks', 'examples.json'))
    .filter((e) => e.status === 200)
    .map((e) => ({
      name: e.file.replace(/\.json$/, ''),
      row: e.row,
      path: `/cds-services/crd-${e.service}`,
      request: readJson(join(root, 'cds-hooks', e.file)),
    }));
}

/** The mix as load requests: bodies serialised once. */
export function asLoad(mix) {
  return mix.map((m) => ({ path: m.path, body: JSON.stringify(m.request) }));
}

/**
 * The mix without the prefetch the service declares (patient, coverage, encounter): the service must
 * query `fhirServer` for them. The orders under review stay where the hook puts them (draftOrders
 * in context; the dispatched and booked orders sent by the client).
 */
export function withoutPrefetch(mix, fhirServer) {
  return mix.map((m) => {
    const request = structuredClone(m.request);
    for (const key of DECLARED_PREFETCH) delete request.prefetch?.[key];
    request.fhirServer = fhirServer;
    return { ...m, name: `${m.name} (no prefetch)`, request };
  });
}

/** FHIR fixtures by folder: `{ 'service-requests': [resource, ...], ... }`. */
export function fixtures() {
  const dir = join(root, 'fhir-resources');
  return Object.fromEntries(
    readdirSync(dir).map((folder) => [folder, readdirSync(join(dir, folder)).sort().map((f) => readJson(join(dir, folder, f)))]),
  );
}

/**
 * One order-sign with `count` draft orders for the B2 patient (BCBS MA PPO, inpatient encounter,
 * all prefetched): every ServiceRequest fixture in turn (dry needling by code, text, billing option,
 * unlisted code; trigger-point injections, acupuncture, exercise), each with its own id. Orders
 * keep their own care-setting signals; their `insurance` and `encounter` references are dropped so
 * that the prefetched Coverage and the context encounter answer for every one of them.
 */
export function manyOrdersRequest(count) {
  const base = exampleMix().find((m) => m.name === 'order-sign-B2-bcbsma-inpatient');
  const templates = fixtures()['service-requests'];
  const entry = Array.from({ length: count }, (_, i) => {
    const order = structuredClone(templates[i % templates.length]);
    order.id = `${order.id}-${i}`.slice(0, 64);
    order.status = 'draft';
    order.subject = { reference: `Patient/${base.request.context.patientId}` };
    delete order.insurance;
    delete order.encounter;
    return { resource: order };
  });
  const request = structuredClone(base.request);
  request.hookInstance = 'b7d3c1a2-50aa-4c50-9f50-000000000050';
  request.context.draftOrders = { resourceType: 'Bundle', type: 'collection', entry };
  return { name: `order-sign with ${count} draft orders`, row: 'many', path: base.path, request };
}
