/**
 * Records over HTTP, on both engines: every coverage-assertion-id returned is stored before the
 * answer and can be looked up; feedback is stored and summarised; every hook call is audited;
 * when the database fails the answer is a 503, never a 200 whose records are missing.
 */
import canonicalize from 'canonicalize';
import { createHash, randomUUID } from 'node:crypto';
import request from 'supertest';
import type { ServiceApp } from '../src/http/app.js';
import { clientJwt, TEST_ISSUER } from './support/clients.js';
import { authHeader, coverageInfo, example, postHook, testApp, type TestApp } from './support/hook-client.js';
import { findLeaks } from './support/log-scan.js';
import type { SqlRecordStore } from '../src/records/sql-store.js';
import { ENGINES, memoryStore, secondStore, testStore, type TestStore } from './support/stores.js';

const sha256 = (value: unknown) => createHash('sha256').update(canonicalize(value)!).digest('hex');

async function get(app: ServiceApp, path: string) {
  return await request(app).get(path).set(await authHeader(app, path.split('?')[0]!));
}

async function postFeedback(app: ServiceApp, serviceId: string, body: unknown) {
  const path = `/cds-services/${serviceId}/feedback`;
  return await request(app).post(path).set(await authHeader(app, path)).send(body as object);
}

describe.each(ENGINES)('records on %s', (engine) => {
  let t: TestStore;
  let service: TestApp;
  beforeAll(async () => {
    t = await testStore(engine);
    service = testApp({ records: t.store });
  });
  afterAll(async () => {
    await t.dispose();
  });

  test('each coverage-assertion-id returned is stored before the answer: hook, order and its hash, Coverage, payer, policy version, rule, determination', async () => {
    const body = example('order-sign-B2-bcbsma-inpatient.json');
    const answer = await postHook(service.app, 'crd-order-sign', body);
    expect(answer.status).toBe(200);
    const [info] = coverageInfo(answer.body);
    const res = await get(service.app, `/coverage-assertions/${info!.assertionId}`);
    expect(res.status).toBe(200);
    const order = body.context.draftOrders.entry[0].resource;
    expect(res.body).toEqual({
      id: info!.assertionId,
      service: 'crd-order-sign',
      hook: 'order-sign',
      hookInstance: body.hookInstance,
      coverage: info!.coverage,
      payer: 'bcbsma',
      date: expect.stringMatching(/^\d{4}-\d{2}-\d{2}$/),
      recordedAt: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T/),
      client: { iss: TEST_ISSUER },
      repetitions: [
        {
          order: `ServiceRequest/${order.id}`,
          orderSha256: sha256(order),
          policy: 'bcbsma-dry-needling',
          policyVersion: expect.any(String),
          rule: 'B2',
          covered: 'conditional',
          paNeeded: 'auth-needed',
          infoNeeded: ['OTH'],
          billingCode: 'http://www.ama-assn.org/go/cpt|20560',
        },
      ],
    });
    // Ids and codes only: nothing of the order or the patient.
    expect(findLeaks(JSON.stringify(res.body))).toEqual([]);
  });

  test('several Coverages: each assertion id is stored with its own Coverage and payer', async () => {
    const answer = await postHook(service.app, 'crd-order-sign', example('order-sign-multiple-coverages.json'));
    const infos = coverageInfo(answer.body);
    expect(new Set(infos.map((i) => i.assertionId)).size).toBeGreaterThan(1);
    for (const info of infos) {
      const res = await get(service.app, `/coverage-assertions/${info.assertionId}`);
      expect(res.status).toBe(200);
      expect(res.body.coverage).toBe(info.coverage);
      expect(res.body.repetitions.map((r: any) => r.covered)).toContain(info.covered);
    }
  });

  test('an unknown assertion id is a 404 with an OperationOutcome; the lookup needs a client JWT for its own URL', async () => {
    const res = await get(service.app, `/coverage-assertions/${randomUUID()}`);
    expect(res.status).toBe(404);
    expect(res.body).toMatchObject({ resourceType: 'OperationOutcome', issue: [{ code: 'not-found' }] });
    const path = '/coverage-assertions/x';
    expect((await request(service.app).get(path)).status).toBe(401);
    const wrongAud = await clientJwt('/cds-services');
    expect((await request(service.app).get(path).set('Authorization', `Bearer ${wrongAud}`)).status).toBe(401);
  });

  test('feedback on a card is stored (accepted with suggestions, overridden with a reason) and counted in the summary by payer, rule and reason', async () => {
    const answer = await postHook(service.app, 'crd-order-sign', example('order-sign-B2-bcbsma-inpatient.json'));
    const card = answer.body.cards[0];
    const reason = card.overrideReasons[0];
    const at = new Date().toISOString();
    const res = await postFeedback(service.app, 'crd-order-sign', {
      feedback: [
        { card: card.uuid, outcome: 'overridden', overrideReason: { reason, userComment: 'discussed with the patient' }, outcomeTimestamp: '2026-11-23T10:05:31Z' },
        ...(card.suggestions ? [{ card: card.uuid, outcome: 'accepted', acceptedSuggestions: [{ id: card.suggestions[0].uuid }], outcomeTimestamp: '2026-11-23T10:06:00Z' }] : []),
      ],
    });
    expect(res.status).toBe(200);
    const accepted = card.suggestions ? 1 : 0;
    expect(res.body).toEqual({ received: 1 + accepted });
    const summary = await get(service.app, `/feedback/summary?from=${encodeURIComponent(at)}`);
    expect(summary.status).toBe(200);
    expect(summary.body).toMatchObject({
      from: at,
      total: 1 + accepted,
      byService: { 'crd-order-sign': 1 + accepted },
      byPayer: { bcbsma: 1 + accepted },
      byRule: { 'bcbsma-dry-needling#B2': 1 + accepted },
      byDetermination: { 'conditional/auth-needed': 1 + accepted },
      byOutcome: { overridden: 1, ...(accepted ? { accepted: 1 } : {}) },
      byOverrideReason: { [`${reason.system}|${reason.code}`]: 1 },
    });
    const rows = await t.store.database.read<Record<string, unknown>>('SELECT * FROM feedback WHERE card_id = ?', [card.uuid]);
    expect(rows.find((r) => r.outcome === 'overridden')).toMatchObject({ iss: TEST_ISSUER, override_code: reason.code, override_comment: 'discussed with the patient', outcome_at: '2026-11-23T10:05:31Z' });
  });

  test('feedback that breaks CDS Hooks 2.0 is a 400, and the summary refuses a malformed range', async () => {
    const res = await postFeedback(service.app, 'crd-order-sign', { feedback: [{ card: 'c', outcome: 'accepted', outcomeTimestamp: '2026-11-23T10:00:00Z' }] });
    expect(res.status).toBe(400);
    expect(res.body.resourceType).toBe('OperationOutcome');
    const summary = await get(service.app, '/feedback/summary?from=yesterday');
    expect(summary.status).toBe(400);
    expect((await request(service.app).get('/feedback/summary')).status).toBe(401);
  });

  test('every hook call is audited: who, when, which hook, orders, determinations, status and latency; ids and codes only', async () => {
    const ok = example('order-sign-B2-bcbsma-inpatient.json');
    await postHook(service.app, 'crd-order-sign', ok);
    const bad = example('error-400-no-coverage.json');
    expect((await postHook(service.app, 'crd-order-sign', bad)).status).toBe(400);
    const refused = { ...example('order-sign-B1-bcbsma-outpatient.json'), hookInstance: randomUUID() };
    expect((await request(service.app).post('/cds-services/crd-order-sign').send(refused)).status).toBe(401);

    const rows = await t.store.database.read<Record<string, any>>('SELECT * FROM audit_log');
    const answered = rows.find((r) => r.hook_instance === ok.hookInstance)!;
    expect(answered).toMatchObject({ iss: TEST_ISSUER, service_id: 'crd-order-sign', hook: 'order-sign', status: 200, request_body: null, response_body: null });
    expect(Number(answered.latency_ms)).toBeGreaterThan(0);
    expect(answered.request_id).toMatch(/^[0-9a-f-]{36}$/);
    expect(JSON.parse(answered.orders)).toEqual([`ServiceRequest/${ok.context.draftOrders.entry[0].resource.id}`]);
    expect(JSON.parse(answered.determinations)).toEqual([expect.stringMatching(/bcbsma-dry-needling#B2$/)]);
    expect(JSON.parse(answered.assertion_ids)).toHaveLength(1);
    expect(rows.find((r) => r.hook_instance === bad.hookInstance)).toMatchObject({ status: 400, iss: TEST_ISSUER, problem: expect.stringMatching(/No Coverage/) });
    // Refused before authentication: no verified caller, the body was never read.
    expect(rows.find((r) => r.status === 401)).toMatchObject({ iss: null, hook_instance: null, problem: expect.stringMatching(/Authentication failed/) });
    for (const row of rows) expect(findLeaks(JSON.stringify(row))).toEqual([]);
  });

  test('a replayed jti is refused by another instance sharing the database', async () => {
    const other = testApp({ records: await secondStore(t) });
    try {
      const path = '/cds-services';
      const token = await clientJwt(path);
      expect((await request(service.app).get(path).set('Authorization', `Bearer ${token}`)).status).toBe(200);
      expect((await request(other.app).get(path).set('Authorization', `Bearer ${token}`)).status).toBe(401);
      expect(other.logs.find((l) => l.event === 'auth-failed')).toMatchObject({ reason: 'jti replayed' });
    } finally {
      await other.records.close();
    }
  });
});

test('AUDIT_FULL_RESOURCES keeps the request and the answer in the audit, but never the access token', async () => {
  const service = testApp({ auditFullResources: true });
  const body = example('order-sign-multiple-coverages.json');
  await postHook(service.app, 'crd-order-sign', body);
  const [row] = await service.records.database.read<Record<string, string>>('SELECT * FROM audit_log');
  const stored = JSON.parse(row!.request_body!);
  expect(stored.prefetch).toEqual(body.prefetch);
  expect(stored.fhirAuthorization).toBeUndefined();
  expect(row!.request_body).not.toContain(body.fhirAuthorization.access_token);
  expect(JSON.parse(row!.response_body!).systemActions.length).toBeGreaterThan(0);
});

describe('when the records cannot be written, nothing is answered as if they were', () => {
  let service: TestApp;
  beforeAll(async () => {
    service = testApp();
    await service.records.close();
  });

  test('a hook call is a 503 with an OperationOutcome, not a 200 whose assertion is missing', async () => {
    const path = '/cds-services/crd-order-sign';
    const res = await request(service.app).post(path).set(await authHeader(service.app, path)).send(example('order-sign-B2-bcbsma-inpatient.json'));
    // (Authentication reads the same database: a refused jti check fails closed, also with a 503.)
    expect(res.status).toBe(503);
    expect(res.body).toMatchObject({ resourceType: 'OperationOutcome', issue: [{ code: 'transient' }] });
  });

  test('feedback and lookups are 503s too', async () => {
    const anonymous = testApp({ auth: 'off' }); // Authentication is off so the write itself is what fails.
    await anonymous.records.close();
    const feedback = await request(anonymous.app)
      .post('/cds-services/crd-order-sign/feedback')
      .send({ feedback: [{ card: randomUUID(), outcome: 'overridden', outcomeTimestamp: '2026-11-23T10:00:00Z' }] });
    expect(feedback.status).toBe(503);
    expect(feedback.body.resourceType).toBe('OperationOutcome');
    const hook = await request(anonymous.app).post('/cds-services/crd-order-sign').send(example('order-sign-B2-bcbsma-inpatient.json'));
    expect(hook.status).toBe(503);
    expect((await request(anonymous.app).get(`/coverage-assertions/${randomUUID()}`)).status).toBe(503);
    expect((await request(anonymous.app).get('/feedback/summary')).status).toBe(503);
    expect(anonymous.logs.filter((l) => l.event === 'record-failed').map((l) => l.operation)).toEqual(
      expect.arrayContaining(['feedback', 'answer', 'assertion', 'feedback-summary']),
    );
  });
});

describe('when the database stalls, calls get a 503 at the deadline instead of waiting with it', () => {
  /** Holds the SQLite worker a second or two: what is asked meanwhile waits behind it, as behind a stalled disk. */
  const stall = (store: SqlRecordStore) =>
    store.database.read('WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 6000000) SELECT COUNT(*) AS n FROM c');

  test('a hook call is a 503 with an OperationOutcome after RECORDS_TIMEOUT_MS, /readyz is not ready, and the audit shows what happened', async () => {
    const store = memoryStore({ timeoutMs: 150 });
    const service = testApp({ auth: 'off', records: store });
    await store.ping(); // the worker is up and migrated
    const body = { ...example('order-sign-B2-bcbsma-inpatient.json'), hookInstance: randomUUID() };
    const stallEnded = stall(store).then(() => performance.now());
    const res = await request(service.app).post('/cds-services/crd-order-sign').send(body);
    const answeredAt = performance.now();
    expect(res.status).toBe(503);
    expect(res.body).toMatchObject({ resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'transient' }] });
    // Readiness says so too, within the same deadline.
    const ready = await request(service.app).get('/readyz');
    expect(ready.status).toBe(503);
    expect(ready.body).toMatchObject({ status: 'not-ready', database: 'unreachable' });
    const readyAt = performance.now();
    // Answered at the answer's deadline plus the refusal's audit deadline, before the stall ended.
    expect(answeredAt).toBeLessThan(await stallEnded);
    expect(readyAt).toBeLessThan(await stallEnded);
    expect(service.logs.filter((l) => l.event === 'record-failed')).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ operation: 'answer', error: 'RecordsTimeout' }),
        expect.objectContaining({ operation: 'audit', error: 'RecordsTimeout' }),
      ]),
    );
    // A write is not withdrawn at the deadline: once the stall ends both land. The audit then holds
    // the answer that was prepared (200) and the 503 that was sent, for the same hook instance; the
    // assertion id recorded with the 200 never reached the EHR.
    const rows = await store.database.read<{ status: number }>('SELECT status FROM audit_log WHERE hook_instance = ? ORDER BY status', [body.hookInstance]);
    expect(rows.map((r) => r.status)).toEqual([200, 503]);
  });

  test('every call that waits on the database is bounded (audit, feedback, jti, lookups, ping); pruning is not', async () => {
    const store = memoryStore({ timeoutMs: 100 });
    await store.ping();
    const stallEnded = stall(store).then(() => performance.now());
    const bounded: Record<string, Promise<unknown>> = {
      audit: store.recordAudit({ at: new Date().toISOString(), status: 401, latencyMs: 1, orders: [], determinations: [], assertionIds: [] }),
      feedback: store.record([{ serviceId: 'crd-order-sign', card: randomUUID(), outcome: 'accepted', outcomeTimestamp: '2026-11-23T10:00:00Z', receivedAt: new Date().toISOString() }]),
      jti: store.remember(`https://ehr.example.org\u0000${randomUUID()}`, Date.now() + 60_000),
      assertion: store.assertion(randomUUID()),
      summary: store.feedbackSummary({}),
      ping: store.ping(),
    };
    const pruned = store.prune('2000-01-01T00:00:00Z', Date.now()).then(() => performance.now());
    for (const [what, call] of Object.entries(bounded)) {
      await expect(call.then(() => what, (error: Error) => `${what}: ${error.name}`)).resolves.toBe(`${what}: RecordsTimeout`);
    }
    const ended = await stallEnded;
    expect(await pruned).toBeGreaterThanOrEqual(ended); // waited for the stall and completed
    await expect(store.ping()).resolves.toBeUndefined(); // and the database answers again
  });
});
