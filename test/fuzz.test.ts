/**
 * Property-based fuzzing through real HTTP (issue #3): thousands of generated and mutated hook
 * requests, odd content types and raw bodies, and arbitrary Authorization headers. Whatever
 * arrives, the answer is never a 5xx, every 4xx carries an OperationOutcome, and every 200 is a
 * conformant CDS Hooks / CRD answer.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import fc from 'fast-check';
import { answerClientErrors } from '../src/http/client-errors.js';
import { clientJwt } from './support/clients.js';
import { conformanceProblems } from './support/conformance.js';
import { fhirSchemaErrors } from './support/fhir-schema.js';
import { projectRoot } from './support/fixtures.js';
import { sandboxCapture, SERVICE_IDS, testApp } from './support/hook-client.js';
import { registerRequestSecrets } from './support/log-scan.js';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

const examples: Json[] = [
  ...readdirSync(join(projectRoot, 'cds-hooks'))
    .filter((f) => f.endsWith('.json') && f !== 'examples.json')
    .map((f) => JSON.parse(readFileSync(join(projectRoot, 'cds-hooks', f), 'utf8')) as Json),
  sandboxCapture('servicerequest') as Json,
  sandboxCapture('medicationrequest') as Json,
];
for (const e of examples) registerRequestSecrets(e);

/** Every path into a JSON value (objects and arrays), up to a limit. */
function paths(value: Json, prefix: Array<string | number> = [], out: Array<Array<string | number>> = []): Array<Array<string | number>> {
  if (out.length > 400) return out;
  out.push(prefix);
  if (Array.isArray(value)) value.forEach((v, i) => paths(v, [...prefix, i], out));
  else if (value !== null && typeof value === 'object') for (const [k, v] of Object.entries(value)) paths(v, [...prefix, k], out);
  return out;
}

type Mutation = { kind: 'set'; at: number; value: Json } | { kind: 'delete'; at: number } | { kind: 'add'; at: number; key: string; value: Json };

const odd = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }) as fc.Arbitrary<Json>,
  fc.constantFrom<Json>('', ' ', null, 0, -1, 1e308, true, [], {}, 'Patient/', '#', 'ServiceRequest/../../x', 'http://x', '\u0000', '💉'.repeat(50)),
  fc.string({ maxLength: 2000 }),
  fc.integer().map((n) => ({ resourceType: n % 2 === 0 ? 'Bundle' : 'ServiceRequest', entry: n } as Json)),
);

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('set' as const), at: fc.nat(), value: odd }),
  fc.record({ kind: fc.constant('delete' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('add' as const), at: fc.nat(), key: fc.oneof(fc.string({ maxLength: 12 }), fc.constantFrom('resourceType', 'hook', 'prefetch', 'fhirServer', 'extension', 'contained', '__proto__', 'constructor')), value: odd }),
);

function mutate(base: Json, mutations: Mutation[]): Json {
  let doc = structuredClone(base);
  for (const m of mutations) {
    const all = paths(doc);
    const path = all[m.at % all.length]!;
    if (path.length === 0) {
      if (m.kind === 'set') doc = m.value;
      continue;
    }
    const parent = path.slice(0, -1).reduce<Json>((node, key) => (node as Record<string | number, Json>)[key]!, doc) as Record<string | number, Json>;
    const key = path[path.length - 1]!;
    if (m.kind === 'set') parent[key] = m.value;
    else if (m.kind === 'delete') {
      if (Array.isArray(parent)) parent.splice(key as number, 1);
      else delete parent[key];
    } else {
      const target = parent[key];
      if (target !== null && typeof target === 'object' && !Array.isArray(target)) Object.defineProperty(target, m.key, { value: m.value, enumerable: true, writable: true, configurable: true });
    }
  }
  return doc;
}

interface Attempt {
  service: string;
  contentType: string | undefined;
  body: string;
}

const serviceIds = Object.values(SERVICE_IDS);
const contentType = fc.constantFrom(undefined, 'application/json', 'application/json; charset=utf-8', 'application/fhir+json', 'text/plain', 'application/x-www-form-urlencoded', 'application/json; charset=latin1', 'application/json; charset=utf-16');

const mutatedRequest: fc.Arbitrary<Attempt> = fc
  .record({ base: fc.nat({ max: examples.length - 1 }), mutations: fc.array(mutation, { minLength: 0, maxLength: 4 }), service: fc.nat({ max: 30 }), contentType })
  .map(({ base, mutations, service, contentType: ct }) => {
    const doc = mutate(examples[base]!, mutations);
    const hook = (doc as { hook?: unknown } | null)?.hook;
    // Mostly the service the request names, sometimes another or an unknown one.
    const named = typeof hook === 'string' && serviceIds.includes(`crd-${hook}` as never) ? `crd-${hook}` : serviceIds[0]!;
    const id = service < 24 ? named : service < 29 ? serviceIds[service % serviceIds.length]! : `x${service}`;
    return { service: id, contentType: ct, body: JSON.stringify(doc) };
  });

const rawBody: fc.Arbitrary<Attempt> = fc
  .record({
    body: fc.oneof(
      fc.string({ maxLength: 500 }),
      fc.json({ maxDepth: 4 }),
      fc.nat({ max: examples.length - 1 }).chain((i) => fc.nat({ max: 4000 }).map((cut) => JSON.stringify(examples[i]).slice(0, cut))),
      fc.nat({ max: 2000 }).map((depth) => '['.repeat(depth) + ']'.repeat(depth)),
      fc.nat({ max: 2000 }).map((depth) => '{"a":'.repeat(depth) + '1' + '}'.repeat(depth)),
    ),
    service: fc.constantFrom(...serviceIds),
    contentType,
  });

let server: Server;
let base: string;
const { app, logs } = testApp({ auth: 'off', fhirTimeoutMs: 300 }); // Bodies are the subject here; tokens have their own property below.
const { app: authApp } = testApp();
let authServer: Server;
let authBase: string;
const tally = new Map<number, number>();

async function listen(handler: typeof app): Promise<[Server, string]> {
  const s = createServer(handler);
  // Client and server share this process's event loop: a long pause (the first FHIR-schema compile
  // of the conformance check, on a loaded machine) must not let the server's idle timer close a
  // kept-alive connection under the client's next request, which would be a test artefact.
  s.keepAliveTimeout = 60_000;
  answerClientErrors(s);
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  return [s, `http://127.0.0.1:${(s.address() as AddressInfo).port}`];
}

beforeAll(async () => {
  [server, base] = await listen(app);
  [authServer, authBase] = await listen(authApp);
  // Compile the conformance check's schemas before the timed property starts.
  const warm = readFileSync(join(projectRoot, 'cds-hooks', 'order-sign-B2-bcbsma-inpatient.json'), 'utf8');
  const answer = await send(`${base}/cds-services/crd-order-sign`, { service: 'crd-order-sign', contentType: 'application/json', body: warm });
  check({ service: 'crd-order-sign', contentType: 'application/json', body: warm }, answer);
  tally.clear();
});
afterAll(async () => {
  await Promise.all([server, authServer].map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
});

async function send(url: string, attempt: Attempt, headers: Record<string, string> = {}): Promise<{ status: number; body: unknown }> {
  const res = await fetch(url, {
    method: 'POST',
    body: attempt.body,
    headers: { ...(attempt.contentType ? { 'content-type': attempt.contentType } : {}), ...headers },
  });
  const text = await res.text();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = text;
  }
  tally.set(res.status, (tally.get(res.status) ?? 0) + 1);
  return { status: res.status, body };
}

/** The resource as the client sent it: the service adds only the coverage-information extension. */
function withoutCoverageInformation(resource: object): object {
  const copy = structuredClone(resource) as { extension?: Array<{ url?: string }> };
  copy.extension = copy.extension?.filter((e) => !e.url?.endsWith('/ext-coverage-information'));
  if (copy.extension?.length === 0) delete copy.extension;
  return copy;
}

function check(attempt: Attempt, answer: { status: number; body: unknown }): void {
  if (answer.status >= 500) {
    const error = [...logs].reverse().find((e) => e.event === 'error');
    throw new Error(`${answer.status} (${String(error?.error)}) for ${attempt.body.slice(0, 500)}`);
  }
  if (answer.status >= 400) {
    const outcome = answer.body as { resourceType?: string; issue?: unknown[] };
    if (outcome?.resourceType !== 'OperationOutcome' || !Array.isArray(outcome.issue) || outcome.issue.length === 0) {
      throw new Error(`${answer.status} without an OperationOutcome for ${attempt.body.slice(0, 300)}`);
    }
    return;
  }
  expect(answer.status).toBe(200);
  const request = JSON.parse(attempt.body) as { hook: string };
  let problems = conformanceProblems(answer.body, { hook: request.hook, request: request as unknown as Record<string, unknown> });
  // The service returns the client's order with coverage information added and the rest untouched
  // (docs/architecture.md): FHIR-schema problems the client's own order already had are not the
  // service's. It must never make a valid order invalid.
  const updated = ((answer.body as { systemActions?: Array<{ resource?: { id?: string } }> }).systemActions ?? []).map((a) => a.resource);
  const sentInvalid = updated.some((resource) => resource && fhirSchemaErrors(withoutCoverageInformation(resource)).length > 0);
  if (sentInvalid) problems = problems.filter((p) => !p.endsWith('[FHIR R4 JSON schema]'));
  if (problems.length > 0) throw new Error(`non-conformant 200: ${problems.join('; ')} for ${attempt.body.slice(0, 300)}`);
}

test('5,000 mutated and generated hook requests: never a 5xx, every 4xx an OperationOutcome, every 200 conformant', async () => {
  await fc.assert(
    fc.asyncProperty(fc.oneof({ arbitrary: mutatedRequest, weight: 4 }, { arbitrary: rawBody, weight: 1 }), async (attempt) => {
      check(attempt, await send(`${base}/cds-services/${attempt.service}`, attempt));
    }),
    { numRuns: 5000, ...(process.env.FUZZ_SEED ? { seed: Number(process.env.FUZZ_SEED) } : {}), endOnFailure: true },
  );
  const sent = [...tally.values()].reduce((a, b) => a + b, 0);
  expect(sent).toBeGreaterThanOrEqual(5000);
  // The mutations must reach deep into the pipeline, not all bounce off the first check.
  expect(tally.get(200) ?? 0).toBeGreaterThan(500);
  expect(tally.get(400) ?? 0).toBeGreaterThan(500);
  expect([...tally.keys()].every((status) => status < 500)).toBe(true);
}, 180_000);

test('arbitrary and tampered Authorization headers: 401 with an OperationOutcome or, for an untouched equivalent token, 200; never a 5xx', async () => {
  const body = readFileSync(join(projectRoot, 'cds-hooks', 'order-sign-B2-bcbsma-inpatient.json'), 'utf8');
  const path = `/cds-services/${serviceIds[0]}`;
  const tokens = await Promise.all(Array.from({ length: 20 }, () => clientJwt(path)));
  const header = fc.oneof(
    fc.string({ maxLength: 300 }).map((s) => s.replace(/[^\t\x20-\x7e]/g, '')),
    fc.string({ maxLength: 300 }).map((s) => `Bearer ${s.replace(/[^\x21-\x7e]/g, '')}`),
    fc.record({ t: fc.nat({ max: tokens.length - 1 }), at: fc.nat(), c: fc.constantFrom('A', 'z', '.', '-', '_', '0', '=', '+') }).map(({ t, at, c }) => {
      const token = tokens[t]!;
      const i = at % token.length;
      return `Bearer ${token.slice(0, i)}${c}${token.slice(i + 1)}`;
    }),
  );
  await fc.assert(
    fc.asyncProperty(header, async (authorization) => {
      const answer = await send(`${authBase}${path}`, { service: serviceIds[0]!, contentType: 'application/json', body }, { authorization });
      if (answer.status >= 500) throw new Error(`${answer.status} for Authorization "${authorization.slice(0, 80)}"`);
      if (answer.status !== 200) {
        expect(answer.status).toBe(401);
        expect((answer.body as { resourceType?: string }).resourceType).toBe('OperationOutcome');
      }
    }),
    { numRuns: 1000, endOnFailure: true },
  );
}, 120_000);
