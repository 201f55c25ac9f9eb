/**
 * Hook calls are served on node:http (src/http/hook-endpoint.ts), everything else by Express. The
 * two must look like one service to a client: the same security and CORS headers, the same error
 * answers, and the same body parser (encodings, charsets, limits).
 */
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { brotliCompressSync, deflateSync, gzipSync } from 'node:zlib';
import request from 'supertest';
import type { ServiceApp } from '../src/http/app.js';
import { authHeader, example, testApp } from './support/hook-client.js';
import { expectConformant } from './support/conformance.js';

const PATH = '/cds-services/crd-order-sign';
const B2 = 'order-sign-B2-bcbsma-inpatient.json';

/** Headers that differ per answer by nature (length, type, time, id) or by Node's connection handling. */
const PER_ANSWER = new Set(['content-length', 'content-type', 'date', 'x-request-id', 'connection', 'keep-alive', 'www-authenticate']);
const shared = (headers: Record<string, string>) => Object.fromEntries(Object.entries(headers).filter(([name]) => !PER_ANSWER.has(name)));

/** POSTs bytes exactly as given (supertest would serialise a Buffer as JSON under a JSON content type). */
async function postBytes(app: ServiceApp, path: string, headers: Record<string, string>, bytes: Buffer): Promise<{ status: number; body: any }> {
  const server = createServer(app).listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  try {
    const { port } = server.address() as AddressInfo;
    const res = await fetch(`http://127.0.0.1:${port}${path}`, { method: 'POST', headers: { ...headers, ...(await authHeader(app, path)) }, body: bytes });
    return { status: res.status, body: await res.json() };
  } finally {
    server.close();
  }
}

interface AuditRow {
  status: number;
  service_id: string | null;
  problem: string | null;
  request_id: string | null;
}

describe('the hook endpoint answers as the rest of the service does', () => {
  test('a hook answer carries the same security and CORS headers as an Express answer (discovery)', async () => {
    const { app } = testApp();
    const hook = await request(app).post(PATH).set(await authHeader(app, PATH)).send(example(B2));
    const discovery = await request(app).get('/cds-services').set(await authHeader(app, '/cds-services'));
    expect(hook.status).toBe(200);
    expect(discovery.status).toBe(200);
    expect(shared(hook.headers)).toEqual(shared(discovery.headers));
    // The headers that matter to browser clients and to security reviews, named so that the comparison is not vacuous.
    expect(hook.headers).toMatchObject({
      'access-control-allow-origin': '*',
      'access-control-expose-headers': 'X-Request-Id',
      'x-content-type-options': 'nosniff',
      'content-security-policy': expect.stringContaining("default-src 'self'"),
      'content-type': 'application/json; charset=utf-8',
    });
    expect(hook.headers['x-powered-by']).toBeUndefined();
  });

  test('an error answer from the hook endpoint has the headers and OperationOutcome type of an Express error answer', async () => {
    const { app } = testApp();
    const hook = await request(app).post(PATH).send(example(B2)); // no token
    const records = await request(app).get('/feedback/summary'); // no token, Express
    expect([hook.status, records.status]).toEqual([401, 401]);
    expect(hook.headers['www-authenticate']).toBe('Bearer');
    expect(hook.headers['content-type']).toBe(records.headers['content-type']);
    expect(shared(hook.headers)).toEqual(shared(records.headers));
    expect(hook.body).toEqual(records.body);
  });

  test.each([
    ['gzip', gzipSync],
    ['deflate', deflateSync],
    ['br', brotliCompressSync],
  ])('a %s-encoded body is read as the plain one', async (encoding, compress) => {
    const { app } = testApp();
    const body = example(B2);
    const res = await postBytes(app, PATH, { 'Content-Type': 'application/json', 'Content-Encoding': encoding }, compress(Buffer.from(JSON.stringify(body))));
    expect(res.status).toBe(200);
    expectConformant(res.body, { hook: 'order-sign', request: body });
    expect(res.body.cards[0].summary).toMatch(/prior authorization|precertification/i);
  });

  test('an unknown content encoding and a charset that is not a UTF → 415 with an OperationOutcome', async () => {
    const { app } = testApp();
    const text = JSON.stringify(example(B2));
    const encoded = await request(app).post(PATH).set(await authHeader(app, PATH)).set('Content-Type', 'application/json').set('Content-Encoding', 'compress').send(text);
    const latin1 = await request(app).post(PATH).set(await authHeader(app, PATH)).set('Content-Type', 'application/json; charset=latin1').send(text);
    for (const res of [encoded, latin1]) {
      expect(res.status).toBe(415);
      expect(res.body).toMatchObject({ resourceType: 'OperationOutcome', issue: [{ code: 'not-supported' }] });
    }
  });

  test('the service id is read as Express reads route parameters: a trailing slash and percent-escapes are fine, a bad escape is a 400', async () => {
    const { app } = testApp();
    const slash = `${PATH}/`;
    expect((await request(app).post(slash).set(await authHeader(app, slash)).send(example(B2))).status).toBe(200);
    const escaped = '/cds-services/crd%2Dorder-sign';
    expect((await request(app).post(escaped).set(await authHeader(app, escaped)).send(example(B2))).status).toBe(200);
    const bad = '/cds-services/crd%E0%A4%A';
    const res = await request(app).post(bad).set(await authHeader(app, bad)).send(example(B2));
    expect(res.status).toBe(400);
    expect(res.body.resourceType).toBe('OperationOutcome');
  });

  test('a refused hook call is audited with its status and reason, and logged once', async () => {
    const { app, records, logs } = testApp();
    const path = '/cds-services/crd-no-such-service';
    const res = await request(app).post(path).set(await authHeader(app, path)).set('X-Request-Id', 'refused-1').send(example(B2));
    expect(res.status).toBe(404);
    expect(res.body).toMatchObject({ resourceType: 'OperationOutcome', issue: [{ code: 'not-found' }] });
    const rows = await records.database.read<AuditRow>('SELECT status, service_id, problem, request_id FROM audit_log WHERE request_id = ?', ['refused-1']);
    expect(rows).toEqual([{ status: 404, service_id: null, problem: expect.stringContaining('crd-no-such-service'), request_id: 'refused-1' }]);
    expect(logs.filter((l) => l.requestId === 'refused-1').map((l) => [l.event, l.status])).toEqual([['rejected', 404]]);
  });

  test('POST to the service list and feedback are left to Express', async () => {
    const { app } = testApp();
    const list = await request(app).post('/cds-services').set(await authHeader(app, '/cds-services')).send({});
    expect(list.status).toBe(404);
    expect(list.body.resourceType).toBe('OperationOutcome');
    const feedbackPath = `${PATH}/feedback`;
    const feedback = await request(app)
      .post(feedbackPath)
      .set(await authHeader(app, feedbackPath))
      .send({ feedback: [{ card: randomUUID(), outcome: 'overridden', outcomeTimestamp: '2026-11-23T10:00:00Z' }] });
    expect(feedback.status).toBe(200);
    expect(feedback.body).toEqual({ received: 1 });
  });
});
