import { randomUUID } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { exportJWK, generateKeyPair, importJWK, SignJWT, type JWK, type JSONWebKeySet } from 'jose';
import { devKeyDirFrom } from '../config.js';

/**
 * The local development client: an ES384 key pair generated on this machine the first time it is
 * needed, so a newcomer's `npm start` answers signed calls from the project's own tools (the token
 * script, the hook CLI, the card view) without switching authentication off. The private key never
 * leaves the folder (mode 0600, git-ignored); a deployment does not trust this issuer unless its
 * trusted-issuers file says so (see docs/security.md).
 */
export const DEV_ISSUER = 'urn:crd-dry-needling:dev-client';

export const defaultDevKeyDir = (): string => devKeyDirFrom(process.env);

export interface DevKey {
  kid: string;
  privateJwk: JWK;
  /** The public half as a JWK Set, the form a trusted-issuers entry holds. */
  jwks: JSONWebKeySet;
}

const PRIVATE_FILE = 'dev-client.private.jwk.json';

function readDevKey(dir: string): DevKey | undefined {
  let privateJwk: JWK;
  try {
    privateJwk = JSON.parse(readFileSync(join(dir, PRIVATE_FILE), 'utf8')) as JWK;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  const { d: _private, ...publicJwk } = privateJwk;
  if (!privateJwk.kid || !_private) throw new Error(`${join(dir, PRIVATE_FILE)} is not an ES384 private JWK with a kid`);
  return { kid: privateJwk.kid, privateJwk, jwks: { keys: [publicJwk] } };
}

/** Reads the development key pair from `dir`, generating it on first use. */
export async function ensureDevKey(dir: string = defaultDevKeyDir()): Promise<DevKey> {
  const existing = readDevKey(dir);
  if (existing) return existing;
  const { privateKey } = await generateKeyPair('ES384', { extractable: true });
  const privateJwk: JWK = { ...(await exportJWK(privateKey)), alg: 'ES384', use: 'sig', kid: `dev-${randomUUID()}` };
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  try {
    // 'wx': two processes starting at once must not overwrite each other's key.
    writeFileSync(join(dir, PRIVATE_FILE), JSON.stringify(privateJwk, null, 2) + '\n', { mode: 0o600, flag: 'wx' });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
  const written = readDevKey(dir);
  if (!written) throw new Error(`Could not write the development key to ${dir}`);
  return written;
}

export interface DevTokenOptions {
  /** The URL of the endpoint to be called (CDS Hooks 2.0: `aud`). */
  audience: string;
  keyDir?: string;
  lifetimeSeconds?: number;
  tenant?: string;
}

/** A CDS Hooks client JWT signed with the development key: ES384, typ JWT, kid, fresh jti. */
export async function signDevToken(options: DevTokenOptions): Promise<string> {
  const key = await ensureDevKey(options.keyDir);
  const privateKey = await importJWK(key.privateJwk, 'ES384');
  const now = Math.floor(Date.now() / 1000);
  return await new SignJWT(options.tenant ? { tenant: options.tenant } : {})
    .setProtectedHeader({ alg: 'ES384', typ: 'JWT', kid: key.kid })
    .setIssuer(DEV_ISSUER)
    .setAudience(options.audience)
    .setIssuedAt(now)
    .setExpirationTime(now + (options.lifetimeSeconds ?? 300))
    .setJti(randomUUID())
    .sign(privateKey);
}
