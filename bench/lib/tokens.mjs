// The bench's own CDS client identity: an ES384 key pair, a trusted-issuers file naming it, and
// JWTs signed ahead of the timed runs (signing P-384 costs about a millisecond, more than the
// service's own work, so it must not happen while the load generator measures). Tokens are signed
// on worker threads, one per core.
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { SignJWT, exportJWK, importJWK, compactVerify, importPKCS8 } from 'jose';

export const BENCH_ISSUER = 'https://bench-client.crd.example.org';
const KID = 'bench-es384';
/** CDS Hooks 2.0 §Trusting CDS Clients: tokens live at most five minutes. */
const LIFETIME_S = 300;

/** A fresh ES384 key pair, its public JWK and a trusted-issuers file (CDS_TRUSTED_ISSUERS) naming it. */
export async function benchIssuer(trustedIssuersFile, publicJwkFile) {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-384' });
  const jwk = { ...(await exportJWK(publicKey)), kid: KID, alg: 'ES384', use: 'sig' };
  writeFileSync(trustedIssuersFile, JSON.stringify([{ iss: BENCH_ISSUER, jwks: { keys: [jwk] } }], null, 2));
  writeFileSync(publicJwkFile, JSON.stringify(jwk));
  return { privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }), jwk };
}

async function signAll(privateKeyPem, audiences) {
  const key = await importPKCS8(privateKeyPem, 'ES384');
  const now = Math.floor(Date.now() / 1000);
  const out = [];
  for (const { aud, count } of audiences) {
    const tokens = [];
    for (let i = 0; i < count; i++) {
      tokens.push(
        await new SignJWT({})
          .setProtectedHeader({ alg: 'ES384', typ: 'JWT', kid: KID })
          .setIssuer(BENCH_ISSUER)
          .setAudience(aud)
          .setIssuedAt(now)
          .setExpirationTime(now + LIFETIME_S)
          .setJti(randomUUID())
          .sign(key),
      );
    }
    out.push(tokens);
  }
  return out;
}

/**
 * Signs `count` tokens for each `{ aud, count }`, split over worker threads; returns one array of
 * tokens per audience, in order. Every token has its own `jti`.
 */
export async function presign(privateKeyPem, audiences) {
  const threads = Math.max(1, Math.min(availableParallelism(), 4));
  const shares = Array.from({ length: threads }, (_, t) =>
    audiences.map(({ aud, count }) => ({ aud, count: Math.floor(count / threads) + (t < count % threads ? 1 : 0) })),
  );
  const parts = await Promise.all(
    shares.map(
      (share) =>
        new Promise((resolve, reject) => {
          const worker = new Worker(new URL(import.meta.url), { workerData: { privateKeyPem, audiences: share } });
          worker.once('message', resolve);
          worker.once('error', reject);
        }),
    ),
  );
  return audiences.map((_, a) => parts.flatMap((p) => p[a]));
}

/** How many ES384 signatures this process verifies per second with jose (key imported once). */
export async function verifyRate(privateKeyPem, jwk, samples = 300) {
  const [tokens] = await signAll(privateKeyPem, [{ aud: 'http://127.0.0.1/measure', count: samples }]);
  const key = await importJWK(jwk, 'ES384');
  const started = process.hrtime.bigint();
  for (const token of tokens) await compactVerify(token, key);
  return samples / (Number(process.hrtime.bigint() - started) / 1e9);
}

if (!isMainThread && workerData?.audiences) {
  parentPort.postMessage(await signAll(workerData.privateKeyPem, workerData.audiences));
}
