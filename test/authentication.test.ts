/**
 * Client authentication (CDS Hooks 2.0 §Trusting CDS Clients; issue #3 JWT matrix): every bad
 * token is a bare 401 with an OperationOutcome, a valid one is a 200, and the log names `iss` and
 * `jti` but never holds the token.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createPublicKey, generateKeyPairSync, randomUUID } from 'node:crypto';
import { base64url, SignJWT } from 'jose';
import request from 'supertest';
import { clientJwt, ehrKey, makeKey, PUBLIC_BASE, TEST_ISSUER, testIssuers } from './support/clients.js';
import { example, testApp } from './support/hook-client.js';

const SIGN = '/cds-services/crd-order-sign';
const body = example('order-sign-B2-bcbsma-inpatient.json');

const { app, logs } = testApp({
  issuers: testIssuers({ jku: ['https://keys.ehr.test.example/jwks.json'] }),
});

async function call(authorization: string | undefined, path = SIGN) {
  const r = path === '/cds-services' ? request(app).get(path) : request(app).post(path).send(structuredClone(body));
  return authorization === undefined ? await r : await r.set('Authorization', authorization);
}

function expect401(res: request.Response): void {
  expect(res.status).toBe(401);
  expect(res.headers['www-authenticate']).toBe('Bearer');
  expect(res.body).toMatchObject({ resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'login' }] });
  // Don't say why (cds-hooks.org best practices): the same words for every failure.
  expect(res.body.issue[0].diagnostics).toBe('Authentication failed: send a CDS Hooks client JWT as "Authorization: Bearer <JWT>".');
}

function lastAuthFailure(): Record<string, unknown> | undefined {
  return [...logs].reverse().find((e) => e.event === 'auth-failed');
}

const now = () => Math.floor(Date.now() / 1000);

describe('the JWT matrix: each bad token → 401', () => {
  test('a valid ES384 token → 200', async () => {
    const res = await call(`Bearer ${await clientJwt(SIGN)}`);
    expect(res.status).toBe(200);
    expect(res.body.cards).toHaveLength(1);
  });

  test('a valid RS384 token from a trusted RSA key → 200', async () => {
    const rsa = makeKey('RS384');
    const { app: rsaApp } = testApp({ issuers: [{ iss: TEST_ISSUER, jwks: { keys: [rsa.publicJwk] } }] });
    const res = await request(rsaApp).post(SIGN).send(structuredClone(body)).set('Authorization', `Bearer ${await clientJwt(SIGN, { key: rsa, alg: 'RS384' })}`);
    expect(res.status).toBe(200);
  });

  test('forged signature (another key claiming the trusted kid) → 401', async () => {
    const forger = { ...makeKey(), kid: ehrKey.kid };
    expect401(await call(`Bearer ${await clientJwt(SIGN, { key: forger })}`));
    expect(lastAuthFailure()).toMatchObject({ reason: 'signature does not verify', iss: TEST_ISSUER });
  });

  test('a valid token with one signature byte changed → 401', async () => {
    const token = await clientJwt(SIGN);
    const [h, p, s] = token.split('.') as [string, string, string];
    const flipped = s.slice(0, 10) + (s[10] === 'A' ? 'B' : 'A') + s.slice(11);
    expect401(await call(`Bearer ${h}.${p}.${flipped}`));
  });

  test('wrong aud: another service of ours, another host, the discovery URL → 401', async () => {
    for (const aud of [`${PUBLIC_BASE}/cds-services/crd-order-select`, `https://other-payer.example.org${SIGN}`, `${PUBLIC_BASE}/cds-services`]) {
      expect401(await call(`Bearer ${await clientJwt(SIGN, { claims: { aud } })}`));
    }
    expect(lastAuthFailure()?.reason).toMatch(/aud/);
  });

  test('aud as an array containing the endpoint → 200 (RFC 7519 allows a list)', async () => {
    expect((await call(`Bearer ${await clientJwt(SIGN, { claims: { aud: ['https://elsewhere.example', PUBLIC_BASE + SIGN] } })}`)).status).toBe(200);
  });

  test('expired → 401', async () => {
    expect401(await call(`Bearer ${await clientJwt(SIGN, { claims: { iat: now() - 900, exp: now() - 300 } })}`));
    expect(lastAuthFailure()?.reason).toBe('expired');
  });

  test('iat in the future (beyond the clock tolerance) → 401', async () => {
    expect401(await call(`Bearer ${await clientJwt(SIGN, { claims: { iat: now() + 600, exp: now() + 900 } })}`));
    expect(lastAuthFailure()?.reason).toMatch(/iat/);
  });

  test('iat too far in the past, even with a far exp → 401', async () => {
    expect401(await call(`Bearer ${await clientJwt(SIGN, { claims: { iat: now() - 7200, exp: now() + 86400 } })}`));
  });

  test('a small clock difference (iat 20 s ahead) is tolerated → 200', async () => {
    expect((await call(`Bearer ${await clientJwt(SIGN, { claims: { iat: now() + 20, exp: now() + 320 } })}`)).status).toBe(200);
  });

  test('replayed jti → the first call 200, the replay 401', async () => {
    const token = await clientJwt(SIGN);
    expect((await call(`Bearer ${token}`)).status).toBe(200);
    expect401(await call(`Bearer ${token}`));
    expect(lastAuthFailure()).toMatchObject({ reason: 'jti replayed', iss: TEST_ISSUER });
    // A new token with the same jti is a replay too.
    const jti = randomUUID();
    expect((await call(`Bearer ${await clientJwt(SIGN, { claims: { jti } })}`)).status).toBe(200);
    expect401(await call(`Bearer ${await clientJwt(SIGN, { claims: { jti } })}`));
  });

  test('alg none (unsigned) → 401', async () => {
    const header = base64url.encode(JSON.stringify({ alg: 'none', typ: 'JWT', kid: ehrKey.kid }));
    const payload = base64url.encode(JSON.stringify({ iss: TEST_ISSUER, aud: PUBLIC_BASE + SIGN, iat: now(), exp: now() + 300, jti: randomUUID() }));
    expect401(await call(`Bearer ${header}.${payload}.`));
    expect(lastAuthFailure()?.reason).toBe('alg none not accepted');
  });

  test('HS384 signed with the public key as the HMAC secret → 401', async () => {
    const publicPem = createPublicKey(ehrKey.privateKey).export({ format: 'pem', type: 'spki' }).toString();
    for (const secret of [JSON.stringify(ehrKey.publicJwk), publicPem]) {
      const token = await new SignJWT({ iss: TEST_ISSUER, aud: PUBLIC_BASE + SIGN, iat: now(), exp: now() + 300, jti: randomUUID() })
        .setProtectedHeader({ alg: 'HS384', typ: 'JWT', kid: ehrKey.kid })
        .sign(new TextEncoder().encode(secret));
      expect401(await call(`Bearer ${token}`));
    }
    expect(lastAuthFailure()?.reason).toBe('alg HS384 not accepted');
  });

  test('ES256 and RS256 (not the CDS Hooks algorithms) → 401, even from a trusted key', async () => {
    const claims = () => ({ iss: TEST_ISSUER, aud: PUBLIC_BASE + SIGN, iat: now(), exp: now() + 300, jti: randomUUID() });
    const es256 = await new SignJWT(claims())
      .setProtectedHeader({ alg: 'ES256', typ: 'JWT', kid: 'k256' })
      .sign(generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey);
    expect401(await call(`Bearer ${es256}`));
    const rsa = makeKey('RS384');
    const { app: rsaApp } = testApp({ issuers: [{ iss: TEST_ISSUER, jwks: { keys: [{ ...rsa.publicJwk, alg: undefined }] } }] });
    const rs256 = await new SignJWT(claims()).setProtectedHeader({ alg: 'RS256', typ: 'JWT', kid: rsa.kid }).sign(rsa.privateKey);
    expect401(await request(rsaApp).post(SIGN).send(structuredClone(body)).set('Authorization', `Bearer ${rs256}`));
  });

  test('unknown iss → 401', async () => {
    expect401(await call(`Bearer ${await clientJwt(SIGN, { claims: { iss: 'https://evil.example.org' } })}`));
    expect(lastAuthFailure()).toMatchObject({ reason: 'issuer not trusted', iss: 'https://evil.example.org' });
  });

  test('disallowed jku → 401, and nothing is fetched from it', async () => {
    expect401(await call(`Bearer ${await clientJwt(SIGN, { header: { jku: 'https://evil.example.org/jwks.json' } })}`));
    expect(lastAuthFailure()?.reason).toBe('jku not allowed for this issuer');
  });

  test('missing kid → 401', async () => {
    expect401(await call(`Bearer ${await clientJwt(SIGN, { header: { kid: undefined } })}`));
    expect(lastAuthFailure()?.reason).toBe('no kid');
  });

  test('typ other than JWT, and no jti → 401', async () => {
    expect401(await call(`Bearer ${await clientJwt(SIGN, { header: { typ: 'at+jwt' } })}`));
    expect401(await call(`Bearer ${await clientJwt(SIGN, { omit: ['jti'] })}`));
    expect401(await call(`Bearer ${await clientJwt(SIGN, { omit: ['exp'] })}`));
  });

  test('no header, another scheme, garbage, a huge header → 401', async () => {
    expect401(await call(undefined));
    expect401(await call(`Basic ${Buffer.from('a:b').toString('base64')}`));
    expect401(await call('Bearer not.a.jwt'));
    expect401(await call('Bearer'));
    expect401(await call(`Bearer ${'a'.repeat(10_000)}`));
  });
});

describe('what is authenticated, and what is logged', () => {
  test('discovery needs a token whose aud is the discovery URL', async () => {
    expect401(await call(undefined, '/cds-services'));
    expect((await call(`Bearer ${await clientJwt('/cds-services')}`, '/cds-services')).status).toBe(200);
  });

  test('feedback needs a token too', async () => {
    const path = '/cds-services/crd-order-sign/feedback';
    const feedback = { feedback: [{ card: randomUUID(), outcome: 'overridden', outcomeTimestamp: '2026-11-23T10:00:00Z' }] };
    expect401(await request(app).post(path).send(feedback));
    const res = await request(app).post(path).send(feedback).set('Authorization', `Bearer ${await clientJwt(path)}`);
    expect(res.status).toBe(200);
  });

  test('CORS preflights are answered without a token (browsers send none)', async () => {
    const res = await request(app).options(SIGN).set('Origin', 'https://sandbox.cds-hooks.org').set('Access-Control-Request-Method', 'POST');
    expect(res.status).toBe(204);
    expect(res.headers['access-control-allow-headers']).toMatch(/Authorization/);
  });

  test('a refusal is logged with iss and jti only; an accepted call with iss and jti; never the token', async () => {
    const jti = randomUUID();
    const token = await clientJwt(SIGN, { claims: { jti, aud: 'https://wrong.example' } });
    await call(`Bearer ${token}`);
    const failure = lastAuthFailure()!;
    expect(failure).toMatchObject({ event: 'auth-failed', iss: TEST_ISSUER, jti });
    const okJti = randomUUID();
    await call(`Bearer ${await clientJwt(SIGN, { claims: { jti: okJti } })}`);
    expect(logs.find((e) => e.event === 'hook' && e.jti === okJti)).toMatchObject({ iss: TEST_ISSUER });
    const everything = JSON.stringify(logs);
    expect(everything).not.toContain(token.split('.')[2]);
    expect(everything).not.toMatch(/eyJ[A-Za-z0-9_-]{8,}\./);
  });
});

describe('tenants', () => {
  const { app: tenantApp } = testApp({ issuers: testIssuers({ tenants: ['clinic-a'] }) });
  const post = async (token: string) => await request(tenantApp).post(SIGN).send(structuredClone(body)).set('Authorization', `Bearer ${token}`);

  test('an issuer that lists tenants accepts only those', async () => {
    expect((await post(await clientJwt(SIGN, { claims: { tenant: 'clinic-a' } }))).status).toBe(200);
    expect401(await post(await clientJwt(SIGN, { claims: { tenant: 'clinic-b' } })));
    expect401(await post(await clientJwt(SIGN)));
    expect401(await post(await clientJwt(SIGN, { claims: { tenant: 42 } })));
  });
});

describe('keys fetched from a JWK Set URL (jwks_uri, or an allowed jku)', () => {
  let server: Server;
  let keysUrl: string;
  let fetches = 0;
  let served = [ehrKey.publicJwk];

  beforeAll(async () => {
    server = createServer((_req, res) => {
      fetches++;
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: served }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    keysUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks.json`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  test('fetched once and cached; an unknown kid refetches at most once per cooldown; a rotated key is picked up', async () => {
    const { app: remoteApp } = testApp({ issuers: [{ iss: TEST_ISSUER, jwks_uri: keysUrl }] });
    const post = async (token: string) => await request(remoteApp).post(SIGN).send(structuredClone(body)).set('Authorization', `Bearer ${token}`);
    fetches = 0;
    for (let i = 0; i < 3; i++) expect((await post(await clientJwt(SIGN))).status).toBe(200);
    expect(fetches).toBe(1);

    // A kid the set does not hold: the set was fetched just now, so the cooldown forbids a refetch.
    const stranger = makeKey();
    for (let i = 0; i < 5; i++) expect401(await post(await clientJwt(SIGN, { key: stranger })));
    expect(fetches).toBe(1);

    // After rotation the new key is published; a fresh app (no cooldown yet) fetches and accepts it.
    served = [ehrKey.publicJwk, stranger.publicJwk];
    const { app: rotated } = testApp({ issuers: [{ iss: TEST_ISSUER, jwks_uri: keysUrl }] });
    const res = await request(rotated).post(SIGN).send(structuredClone(body)).set('Authorization', `Bearer ${await clientJwt(SIGN, { key: stranger })}`);
    expect(res.status).toBe(200);
  });

  test('an allowed jku is honoured when the inline keys do not hold the kid', async () => {
    const other = makeKey();
    served = [other.publicJwk];
    const { app: jkuApp } = testApp({ issuers: testIssuers({ jku: [keysUrl] }) });
    const res = await request(jkuApp).post(SIGN).send(structuredClone(body)).set('Authorization', `Bearer ${await clientJwt(SIGN, { key: other, header: { jku: keysUrl } })}`);
    expect(res.status).toBe(200);
  });
});
