/**
 * The hook lane (src/http/hook-lane.ts) answers POST /cds-services/{id} past Express. A gzip-encoded
 * body is declined by the lane and answered by Express, so every request here is sent both ways and
 * the two answers must agree: status, headers, and the body (but for fresh uuids).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { gzipSync } from 'node:zlib';
import request from 'supertest';
import { headersSetBy } from '../src/http/hook-lane.js';
import { authHeader, example, testApp } from './support/hook-client.js';

const PATH = '/cds-services/crd-order-sign';
/** Headers that differ per response whatever the path. */
const VARYING = new Set(['date', 'content-length', 'connection', 'keep-alive']);

async function both(body: string | Buffer, options: { auth?: boolean; headers?: Record<string, string> } = {}) {
  const { app, logs } = testApp();
  const send = async (encoded: boolean) => {
    const call = request(app)
      .post(PATH)
      .set('Content-Type', 'application/json')
      .set(options.auth === false ? {} : await authHeader(app, PATH))
      .set(options.headers ?? {});
    // Sent as bytes: superagent would serialise a Buffer as JSON (its types say a serialiser returns a string; a Buffer is sent as is).
    return encoded ? call.set('Content-Encoding', 'gzip').serialize((b: Buffer) => b as unknown as string).send(gzipSync(body)) : call.send(body);
  };
  const lane = await send(false);
  const express = await send(true);
  return { lane, express, logs };
}

const headersOf = (res: request.Response) => Object.fromEntries(Object.entries(res.headers).filter(([name]) => !VARYING.has(name)));
const withoutUuids = (text: string) => text.replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g, 'UUID');

describe('the hook lane and the Express route answer alike', () => {
  test('a hook call: 200, the same headers (security headers, CORS) and the same answer', async () => {
    const { lane, express } = await both(JSON.stringify(example('order-sign-B2-bcbsma-inpatient.json')));
    expect(lane.status).toBe(200);
    expect(express.status).toBe(200);
    expect(headersOf(lane)).toEqual(headersOf(express));
    expect(lane.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(lane.headers['access-control-allow-origin']).toBe('*');
    expect(lane.headers['x-content-type-options']).toBe('nosniff');
    expect(withoutUuids(lane.text)).toBe(withoutUuids(express.text));
  });

  test.each([
    ['a body that is not JSON', '{"hook": ', 400],
    ['an empty body', '', 400],
    ['a body over the size limit', JSON.stringify({ padding: 'x'.repeat(1_100_000) }), 413],
  ])('%s: the same OperationOutcome', async (_label, body, status) => {
    const { lane, express } = await both(body);
    expect(lane.status).toBe(status);
    expect(express.status).toBe(status);
    expect(headersOf(lane)).toEqual(headersOf(express));
    expect(lane.body).toEqual(express.body);
    expect(lane.body.resourceType).toBe('OperationOutcome');
  });

  test('no token: 401 with WWW-Authenticate, the same OperationOutcome, refusals logged alike', async () => {
    const { lane, express, logs } = await both(JSON.stringify(example('order-sign-B2-bcbsma-inpatient.json')), { auth: false });
    expect(lane.status).toBe(401);
    expect(express.status).toBe(401);
    expect(lane.headers['www-authenticate']).toBe('Bearer');
    expect(headersOf(lane)).toEqual(headersOf(express));
    expect(lane.body).toEqual(express.body);
    const refusals = logs.filter((e) => e.event === 'auth-failed');
    expect(refusals).toHaveLength(2);
    expect(refusals[0]).toEqual(refusals[1]);
  });

  test('a body starting with a byte-order mark is read as JSON, as the body parser reads it', async () => {
    const { lane, express } = await both(`\uFEFF${JSON.stringify(example('order-sign-M1-medica-commercial.json'))}`);
    expect(lane.status).toBe(200);
    expect(express.status).toBe(200);
  });

  test('a body in another charset is left to Express (which refuses it)', async () => {
    const { app } = testApp();
    const res = await request(app)
      .post(PATH)
      .set('Content-Type', 'application/json; charset=latin1')
      .set(await authHeader(app, PATH))
      .send(JSON.stringify(example('order-sign-M1-medica-commercial.json')));
    expect(res.status).toBe(415);
    expect(res.body.resourceType).toBe('OperationOutcome');
  });
});

describe('headersSetBy reads the headers of middlewares that set the same ones on every answer', () => {
  type Middleware = (req: IncomingMessage, res: ServerResponse, next: (error?: unknown) => void) => void;
  const setting: Middleware = (_req, res, next) => {
    res.setHeader('X-One', '1');
    res.setHeader('X-Two', ['a', 'b']);
    res.removeHeader('X-One');
    next();
  };

  test('what they set, as they left it', () => {
    expect(headersSetBy([setting])).toEqual({ 'X-Two': ['a', 'b'] });
  });

  test('refuses a middleware that answers by itself, or calls next later', () => {
    const answering: Middleware = (_req, res) => void res.end();
    const later: Middleware = (_req, _res, next) => void setImmediate(next);
    expect(() => headersSetBy([answering])).toThrow(/answered by itself/);
    expect(() => headersSetBy([later])).toThrow(/did not call next at once/);
  });
});
