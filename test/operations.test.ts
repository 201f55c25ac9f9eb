/**
 * Operations: JSON logs with a request id and nothing secret, Prometheus metrics, health and
 * readiness probes.
 */
import request from 'supertest';
import { markDraining } from '../src/http/operations.js';
import { clientJwt } from './support/clients.js';
import { startFhirServer } from './support/fhir-server.js';
import { authHeader, example, orderSignRequest, postHook, testApp } from './support/hook-client.js';
import { findLeaks } from './support/log-scan.js';

describe('logs: JSON lines (pino) with a request id; ids and codes, never a token or a name', () => {
  test('each request gets an id, echoed in X-Request-Id and carried by every line logged for it; a hook call logs one line', async () => {
    const { app, logs } = testApp();
    const body = example('order-sign-B2-bcbsma-inpatient.json');
    const path = '/cds-services/crd-order-sign';
    const res = await request(app).post(path).set(await authHeader(app, path)).send(body);
    expect(res.status).toBe(200);
    const id = res.headers['x-request-id'];
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    const lines = logs.filter((l) => l.requestId === id);
    expect(lines.map((l) => l.event ?? l.msg)).toEqual(['hook']);
    expect(lines[0]).toMatchObject({
      level: 'info',
      time: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T/),
      method: 'POST',
      path,
      hook: 'order-sign',
      hookInstance: body.hookInstance,
      status: 200,
      ms: expect.any(Number),
    });
  });

  test("a caller's X-Request-Id is kept when it is a plain token, replaced otherwise", async () => {
    const { app, logs } = testApp();
    const given = await request(app).get('/cds-services').set('X-Request-Id', 'ehr-trace.42').set(await authHeader(app, '/cds-services'));
    expect(given.headers['x-request-id']).toBe('ehr-trace.42');
    expect(logs.find((l) => l.requestId === 'ehr-trace.42')).toBeDefined();
    const odd = await request(app).get('/cds-services').set('X-Request-Id', 'a b {"x":1}');
    expect(odd.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
  });

  test('a refused token, a request with an access token and patient names: the log holds none of them', async () => {
    const { app, logs } = testApp();
    const token = await clientJwt('/cds-services/crd-order-sign', { claims: { aud: 'https://elsewhere.example' } });
    const body = example('order-sign-multiple-coverages.json');
    await request(app).post('/cds-services/crd-order-sign').set('Authorization', `Bearer ${token}`).send(body);
    await postHook(app, 'crd-order-sign', body);
    const text = JSON.stringify(logs);
    expect(text).not.toContain(token);
    expect(text).not.toContain(body.fhirAuthorization.access_token);
    expect(logs.find((l) => l.event === 'auth-failed')).toMatchObject({ level: 'warn', reason: expect.stringMatching(/aud/) });
    for (const line of logs) expect(findLeaks(JSON.stringify(line))).toEqual([]);
  });
});

describe('health and readiness (unauthenticated, for probes)', () => {
  test('/healthz answers while the process runs; /readyz when the database answers and policies are loaded', async () => {
    const { app } = testApp();
    expect((await request(app).get('/healthz')).body).toEqual({ status: 'ok' });
    const ready = await request(app).get('/readyz');
    expect(ready.status).toBe(200);
    expect(ready.body).toEqual({ status: 'ready', database: 'ok', engine: 'sqlite', policies: 2, draining: false });
  });

  test('/readyz is a 503 when the database cannot be reached', async () => {
    const { app, records } = testApp();
    await records.close();
    const res = await request(app).get('/readyz');
    expect(res.status).toBe(503);
    expect(res.body).toMatchObject({ status: 'not-ready', database: 'unreachable' });
    expect((await request(app).get('/healthz')).status).toBe(200);
  });

  test('/readyz is a 503 once the instance is draining (SIGTERM), so the load balancer stops sending', async () => {
    const { app } = testApp();
    markDraining(app.express);
    const res = await request(app).get('/readyz');
    expect(res.status).toBe(503);
    expect(res.body).toMatchObject({ database: 'ok', draining: true });
  });
});

describe('/metrics (Prometheus)', () => {
  test('hook latency by hook, determinations by payer and decision-table row, FHIR query latency and errors, auth failures', async () => {
    const { app } = testApp();
    const fhir = await startFhirServer({ delayMs: 5 });
    const down = await startFhirServer({ mode: 'status-500' });
    try {
      await postHook(app, 'crd-order-sign', example('order-sign-B2-bcbsma-inpatient.json'));
      await postHook(app, 'crd-order-sign', example('order-sign-M1-medica-commercial.json'));
      const queried = orderSignRequest({ patient: 'pat-anna', orders: ['ServiceRequest/sr-dn-20560'], encounter: 'enc-anna-inpatient', prefetchEncounter: false, fhirServer: fhir.baseUrl, accessToken: 'token-metrics-1' });
      delete queried.prefetch;
      expect((await postHook(app, 'crd-order-sign', queried)).status).toBe(200);
      const failing = orderSignRequest({ patient: 'pat-anna', orders: ['ServiceRequest/sr-dn-20560'], fhirServer: down.baseUrl, accessToken: 'token-metrics-2' });
      delete failing.prefetch;
      expect((await postHook(app, 'crd-order-sign', failing)).status).toBe(412);
      await request(app).get('/cds-services').set('Authorization', 'Bearer not-a-jwt');
    } finally {
      await fhir.close();
      await down.close();
    }
    const res = await request(app).get('/metrics');
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/plain/);
    const text = res.text;
    expect(text).toMatch(/crd_hook_duration_seconds_count\{hook="order-sign",status="200"\} 3/);
    expect(text).toMatch(/crd_hook_duration_seconds_count\{hook="order-sign",status="412"\} 1/);
    expect(text).toMatch(/crd_determinations_total\{payer="bcbsma",policy="bcbsma-dry-needling",rule="B2",covered="conditional"\} [1-9]/);
    expect(text).toMatch(/crd_determinations_total\{payer="medica-central",policy="medica-central-mp9672",rule="M1",covered="not-covered"\} 1/);
    expect(text).toMatch(/crd_fhir_query_duration_seconds_count\{operation="search",resource_type="Coverage",outcome="ok"\} 1/);
    expect(text).toMatch(/crd_fhir_query_duration_seconds_count\{operation="read",resource_type="Encounter",outcome="ok"\} 1/);
    expect(text).toMatch(/crd_fhir_query_errors_total\{operation="search",resource_type="Coverage",failure="http-status"\} 1/);
    expect(text).toMatch(/crd_auth_failures_total\{reason="not a JWS compact JWT"\} 1/);
    // Labels are ids and codes: no patient, no token.
    expect(findLeaks(text)).toEqual([]);
    expect(text).not.toContain('token-metrics');
  });

  test('auth failure reasons are labels without the parts a caller chose', async () => {
    const { app } = testApp();
    const odd = await clientJwt('/cds-services', { header: { alg: 'ES384' }, claims: { aud: 'https://x.example/1' } });
    await request(app).get('/cds-services').set('Authorization', `Bearer ${odd}`);
    expect((await request(app).get('/metrics')).text).toMatch(/crd_auth_failures_total\{reason="claim aud failed"\} 1/);
  });

  test('with METRICS_TOKEN set, /metrics needs it', async () => {
    const { app } = testApp({ metricsToken: 'scrape-secret-123' });
    expect((await request(app).get('/metrics')).status).toBe(401);
    expect((await request(app).get('/metrics').set('Authorization', 'Bearer wrong')).status).toBe(401);
    const ok = await request(app).get('/metrics').set('Authorization', 'Bearer scrape-secret-123');
    expect(ok.status).toBe(200);
    expect(ok.text).toContain('# TYPE crd_hook_duration_seconds histogram');
  });
});
