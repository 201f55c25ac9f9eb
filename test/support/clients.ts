/**
 * CDS clients for tests: an EHR issuer with its own ES384 key (the way a real EHR holds one), JWTs
 * signed by it, and helpers to forge the bad ones of the JWT matrix.
 */
import { generateKeyPairSync, randomUUID, type KeyObject } from 'node:crypto';
import { SignJWT, type JWK, type JWTHeaderParameters, type JWTPayload } from 'jose';
import type { TrustedIssuer } from '../../src/auth/trusted-issuers.js';

/** The public URL the test apps are configured with, so every endpoint's `aud` is known in advance. */
export const PUBLIC_BASE = 'https://crd.test.example';
export const TEST_ISSUER = 'https://ehr.test.example/cds-client';

export interface ClientKey {
  kid: string;
  privateKey: KeyObject;
  publicJwk: JWK;
}

export function makeKey(kind: 'ES384' | 'RS384' = 'ES384', kid = `${kind}-${randomUUID()}`): ClientKey {
  const { privateKey, publicKey } =
    kind === 'ES384' ? generateKeyPairSync('ec', { namedCurve: 'secp384r1' }) : generateKeyPairSync('rsa', { modulusLength: 2048 });
  return { kid, privateKey, publicJwk: { ...(publicKey.export({ format: 'jwk' }) as JWK), kid, alg: kind, use: 'sig' } };
}

/** The EHR key every test app trusts (one per test file). */
export const ehrKey = makeKey();

export function testIssuers(extra: Partial<TrustedIssuer> = {}): TrustedIssuer[] {
  return [{ iss: TEST_ISSUER, jwks: { keys: [ehrKey.publicJwk] }, ...extra }];
}

export interface SignOptions {
  key?: ClientKey;
  header?: Partial<JWTHeaderParameters>;
  claims?: JWTPayload;
  /** Claims to leave out (e.g. `jti`). */
  omit?: string[];
  alg?: 'ES384' | 'RS384';
}

/** A CDS Hooks client JWT for the endpoint at `path` (ES384, typ JWT, kid, fresh jti, 5 minutes). */
export async function clientJwt(path: string, options: SignOptions = {}): Promise<string> {
  const key = options.key ?? ehrKey;
  const now = Math.floor(Date.now() / 1000);
  const claims: JWTPayload = { iss: TEST_ISSUER, aud: PUBLIC_BASE + path, iat: now, exp: now + 300, jti: randomUUID(), ...options.claims };
  for (const name of options.omit ?? []) delete claims[name];
  return await new SignJWT(claims)
    .setProtectedHeader({ alg: options.alg ?? 'ES384', typ: 'JWT', kid: key.kid, ...options.header } as JWTHeaderParameters)
    .sign(key.privateKey);
}
