/** The composition root: policies are checked before the service listens. */
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jest } from '@jest/globals';
import { signDevToken } from '../src/auth/dev-key.js';
import { loadConfig } from '../src/config.js';
import { PolicyLoadError } from '../src/policy/load.js';
import { startServer } from '../src/server.js';
import { projectRoot } from './support/fixtures.js';
import { scannedLogger } from './support/log-scan.js';

// Each start opens the embedded SQLite database in a private data folder.
const dataDir = mkdtempSync(join(tmpdir(), 'crd-data-'));
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

// CDS_AUTH=off warns on the console by design; keep the test output clean and check it where it matters.
let warn: ReturnType<typeof jest.spyOn>;
beforeEach(() => {
  warn = jest.spyOn(console, 'warn').mockImplementation(() => undefined);
});
afterEach(() => warn.mockRestore());

test('with no settings, the service starts with the shipped policies, requires a JWT, and trusts the local development key', async () => {
  const logs: Array<Record<string, unknown>> = [];
  const keyDir = mkdtempSync(join(tmpdir(), 'crd-devkey-'));
  const service = await startServer({ ...loadConfig({ CDS_DEV_KEY_DIR: keyDir, DATA_DIR: dataDir }), port: 0 }, scannedLogger(logs));
  try {
    const { port } = service.server.address() as AddressInfo;
    const url = `http://127.0.0.1:${port}/cds-services`;
    expect((await fetch(url)).status).toBe(401);
    const res = await fetch(url, { headers: { Authorization: `Bearer ${await signDevToken({ audience: url, keyDir })}` } });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { services: unknown[] }).services).toHaveLength(4);
    // Idle connections outlive a load balancer's 60 s idle timeout, and clients are told so.
    expect(service.server.keepAliveTimeout).toBe(65_000);
    expect(res.headers.get('keep-alive')).toBe('timeout=65');
    expect(logs.find((e) => e.event === 'auth')).toMatchObject({ mode: 'required', issuers: ['https://sandbox.cds-hooks.org', 'urn:crd-dry-needling:dev-client'] });
    expect(logs.find((e) => e.event === 'listening')).toMatchObject({ policies: ['bcbsma-dry-needling', 'medica-central-mp9672'] });
  } finally {
    await service.stop();
    rmSync(keyDir, { recursive: true, force: true });
  }
});

test('CDS_AUTH=off answers without a JWT and says loudly that it is development only', async () => {
  const logs: Array<Record<string, unknown>> = [];
  const service = await startServer({ ...loadConfig({ CDS_AUTH: 'off', DATA_DIR: dataDir }), port: 0 }, scannedLogger(logs));
  try {
    const { port } = service.server.address() as AddressInfo;
    expect((await fetch(`http://127.0.0.1:${port}/cds-services`)).status).toBe(200);
    expect(logs.find((e) => e.event === 'auth')).toMatchObject({ mode: 'off', warning: expect.stringMatching(/Development only/) });
    expect(warn).toHaveBeenCalledWith(expect.stringMatching(/authentication is DISABLED/));
  } finally {
    await service.stop();
  }
});

describe('configuration that would be unsafe is refused at start-up', () => {
  test('production without CDS_TRUSTED_ISSUERS or CDS_PUBLIC_BASE_URL', () => {
    expect(() => loadConfig({ NODE_ENV: 'production' })).toThrow(/CDS_TRUSTED_ISSUERS.*CDS_PUBLIC_BASE_URL/);
    expect(() => loadConfig({ NODE_ENV: 'production', CDS_TRUSTED_ISSUERS: 'config/trusted-issuers.example.json' })).toThrow(/CDS_PUBLIC_BASE_URL/);
    expect(loadConfig({ NODE_ENV: 'production', CDS_TRUSTED_ISSUERS: 'x.json', CDS_PUBLIC_BASE_URL: 'https://crd.example.org/' })).toMatchObject({
      production: true,
      publicBaseUrl: 'https://crd.example.org',
    });
  });

  test('a CDS_AUTH value other than required/off, a bad public URL, a bad allowlist entry', () => {
    expect(() => loadConfig({ CDS_AUTH: 'optional' })).toThrow(/CDS_AUTH/);
    expect(() => loadConfig({ CDS_PUBLIC_BASE_URL: 'crd.example.org' })).toThrow(/CDS_PUBLIC_BASE_URL/);
    expect(() => loadConfig({ CDS_PUBLIC_BASE_URL: 'https://crd.example.org/?x=1' })).toThrow(/CDS_PUBLIC_BASE_URL/);
    expect(loadConfig({ CDS_FHIR_ALLOWLIST: ' https://ehr.example.org/fhir , http://hapi:8080/fhir ' }).fhirAllowlist).toEqual([
      'https://ehr.example.org/fhir',
      'http://hapi:8080/fhir',
    ]);
  });

  test('records and operations settings: DATABASE_URL must be postgres://, flags true/false, a known log level', () => {
    expect(() => loadConfig({ DATABASE_URL: 'mysql://db/crd' })).toThrow(/DATABASE_URL/);
    expect(() => loadConfig({ AUDIT_FULL_RESOURCES: 'yes' })).toThrow(/AUDIT_FULL_RESOURCES/);
    expect(() => loadConfig({ LOG_LEVEL: 'loud' })).toThrow(/LOG_LEVEL/);
    expect(() => loadConfig({ AUDIT_RETENTION_DAYS: '0' })).toThrow(/AUDIT_RETENTION_DAYS/);
    expect(() => loadConfig({ RECORDS_TIMEOUT_MS: '1.5' })).toThrow(/RECORDS_TIMEOUT_MS/);
    expect(loadConfig({}).recordsTimeoutMs).toBeUndefined(); // the store's default, 1 s
    expect(loadConfig({ DATABASE_URL: 'postgres://crd@db:5432/crd', AUDIT_RETENTION_DAYS: '30', METRICS_TOKEN: 't', LOG_LEVEL: 'warn', RECORDS_TIMEOUT_MS: '2500' })).toMatchObject({
      recordsTimeoutMs: 2500,
      databaseUrl: 'postgres://crd@db:5432/crd',
      auditRetentionDays: 30,
      auditFullResources: false,
      metricsToken: 't',
      logLevel: 'warn',
      dataDir: join(projectRoot, 'data'),
    });
  });

  test('a trusted-issuers file that is missing, not JSON, holds a private key or lists an issuer twice', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'crd-issuers-'));
    const start = (content: string | undefined) => {
      const file = join(dir, `issuers-${Math.random()}.json`);
      if (content !== undefined) writeFileSync(file, content);
      return startServer({ ...loadConfig({ CDS_TRUSTED_ISSUERS: file, DATA_DIR: dataDir }), port: 0 }, scannedLogger());
    };
    const key = { kty: 'EC', crv: 'P-384', kid: 'k1', x: 'AAAA', y: 'BBBB' };
    try {
      await expect(start(undefined)).rejects.toThrow(/Cannot read the trusted-issuers file/);
      await expect(start('{not json')).rejects.toThrow(/not valid JSON/);
      await expect(start(JSON.stringify([{ iss: 'https://ehr', jwks: { keys: [{ ...key, d: 'secret' }] } }]))).rejects.toThrow(/private key/);
      await expect(start(JSON.stringify([{ iss: 'https://ehr', jwks: { keys: [key] } }, { iss: 'https://ehr', jwks: { keys: [key] } }]))).rejects.toThrow(/listed twice/);
      await expect(start(JSON.stringify([{ iss: 'https://ehr', jwks_uri: 'http://keys.example.org/jwks' }]))).rejects.toThrow(/must be https/);
      await expect(start(JSON.stringify([{ iss: 'https://ehr' }]))).rejects.toThrow(/at \/0/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

test('a bad policy file stops start-up with a message naming the file and the JSON path', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'crd-start-'));
  try {
    cpSync(join(projectRoot, 'policies'), dir, { recursive: true });
    writeFileSync(join(dir, 'coverage', 'broken.json'), JSON.stringify({ id: 'broken', payer: 'bcbsma', title: 'x', service: 'dry-needling', versions: [], scope: ['definite'], links: [], overrideReasons: [], rules: [] }));
    const start = startServer({ ...loadConfig({ POLICY_DIR: dir, CDS_AUTH: 'off', DATA_DIR: dataDir }), port: 0 }, scannedLogger());
    await expect(start).rejects.toThrow(PolicyLoadError);
    await expect(start).rejects.toThrow(/coverage\/broken\.json at \/versions: must NOT have fewer than 1 items/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('headers too large for Node’s parser → 431 with an OperationOutcome, not a bare reset', async () => {
  const service = await startServer({ ...loadConfig({ CDS_AUTH: 'off', DATA_DIR: dataDir }), port: 0 }, scannedLogger());
  try {
    const { port } = service.server.address() as AddressInfo;
    const res = await fetch(`http://127.0.0.1:${port}/cds-services`, { headers: { Authorization: `Bearer ${'a'.repeat(20_000)}` } });
    expect(res.status).toBe(431);
    expect(await res.json()).toMatchObject({ resourceType: 'OperationOutcome', issue: [{ code: 'too-costly' }] });
  } finally {
    await service.stop();
  }
});

test('security headers (helmet) on every answer; CORS open to browser clients without credentials', async () => {
  const service = await startServer({ ...loadConfig({ CDS_AUTH: 'off', DATA_DIR: dataDir }), port: 0 }, scannedLogger());
  try {
    const { port } = service.server.address() as AddressInfo;
    const res = await fetch(`http://127.0.0.1:${port}/cds-services`, { headers: { Origin: 'https://sandbox.cds-hooks.org' } });
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('content-security-policy')).toContain("default-src 'self'");
    expect(res.headers.get('x-frame-options')).toBe('SAMEORIGIN');
    expect(res.headers.get('x-powered-by')).toBeNull();
    expect(res.headers.get('access-control-allow-origin')).toBe('*');
    expect(res.headers.get('access-control-allow-credentials')).toBeNull();
  } finally {
    await service.stop();
  }
});
