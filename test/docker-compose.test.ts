/**
 * The FHIR sandbox of docker-compose.yml, checked without a Docker engine: Debian's docker-compose
 * (installed by scripts/install-test-packages.sh) validates and resolves the file offline, and the
 * loader script runs against loopback FHIR servers. Then the whole chain in-process: the loader fills
 * a FHIR server, and the service, configured as compose configures it, answers `npm run hook` without
 * prefetch from that server.
 */
import { execFile, execFileSync } from 'node:child_process';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Bundle, Resource } from 'fhir/r4.js';
import { main as hook } from '../src/cli/hook.js';
import { loadConfig } from '../src/config.js';
import { startFhirServer } from './support/fhir-server.js';
import { loadFixtures, projectRoot } from './support/fixtures.js';
import { startTestService, type TestService } from './support/service.js';

const run = promisify(execFile);

function dockerCompose(args: string[], env: Record<string, string> = {}): string {
  try {
    return execFileSync('docker-compose', ['-f', join(projectRoot, 'docker-compose.yml'), ...args], {
      cwd: projectRoot,
      env: { ...process.env, ...env },
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
  } catch (error) {
    const e = error as { code?: string; stderr?: string; message: string };
    if (e.code === 'ENOENT') {
      throw new Error('docker-compose is not installed: run scripts/install-test-packages.sh (Debian\'s docker-compose package).', { cause: error });
    }
    throw new Error(`docker-compose ${args.join(' ')} failed: ${e.stderr ?? e.message}`, { cause: error });
  }
}

describe('docker-compose.yml', () => {
  test('is valid: docker-compose config -q accepts it', () => {
    expect(dockerCompose(['config', '-q'])).toBe('');
  });

  test('the CRD service, HAPI pinned to a release, and the one-shot loader, wired to each other', () => {
    expect(dockerCompose(['config', '--services']).trim().split('\n').sort()).toEqual(['crd', 'hapi', 'loader']);
    const resolved = dockerCompose(['config']);
    expect(resolved).toMatch(/image: hapiproject\/hapi:v\d+\.\d+\.\d+\n/);
    expect(resolved).toContain('CDS_FHIR_ALLOWLIST: http://hapi:8080/fhir');
    expect(resolved).toContain('CDS_TRUSTED_ISSUERS: /app/config/trusted-issuers.json');
    expect(resolved).toContain('CDS_PUBLIC_BASE_URL: http://localhost:3000');
    expect(resolved).toMatch(/- --base\n\s+- http:\/\/hapi:8080\/fhir\n/);
    expect(resolved).toMatch(/loader:[\s\S]*restart: "?no"?/);
    // Every file or folder it mounts exists in the repository.
    const mounts = [...resolved.matchAll(/^\s+- (\/[^:\n]+):[^:\n]+(?::ro)?$/gm)].map((m) => m[1]!);
    expect(mounts.sort()).toEqual(
      [join(projectRoot, 'config', 'trusted-issuers.example.json'), join(projectRoot, 'fhir-resources'), join(projectRoot, 'scripts', 'load-fhir-resources.mjs')].sort(),
    );
    for (const path of mounts) expect(existsSync(path)).toBe(true);
  });

  test('CRD_TRUSTED_ISSUERS and CRD_FHIR_ALLOWLIST change what the service trusts and may query', () => {
    const resolved = dockerCompose(['config'], { CRD_TRUSTED_ISSUERS: './config/trusted-issuers.local.json', CRD_FHIR_ALLOWLIST: 'http://hapi:8080/fhir,https://fhir.example.org/r4' });
    expect(resolved).toContain(`${join(projectRoot, 'config', 'trusted-issuers.local.json')}:/app/config/trusted-issuers.json:ro`);
    expect(resolved).toContain('CDS_FHIR_ALLOWLIST: http://hapi:8080/fhir,https://fhir.example.org/r4');
  });
});

/** A FHIR server that answers /metadata after `unreadyFor` tries and takes one transaction, recording it. */
async function transactionServer(options: { unreadyFor?: number; refuse?: boolean } = {}): Promise<{ base: string; transactions: Bundle[]; metadataCalls: () => number; close: () => Promise<void> }> {
  const transactions: Bundle[] = [];
  let metadata = 0;
  const read = (req: IncomingMessage) => new Promise<string>((resolve) => {
    let text = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (text += chunk));
    req.on('end', () => resolve(text));
  });
  const server: Server = createServer(async (req, res) => {
    const json = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/fhir+json' });
      res.end(JSON.stringify(body));
    };
    if (req.method === 'GET' && req.url === '/fhir/metadata') {
      metadata += 1;
      if (metadata <= (options.unreadyFor ?? 0)) return json(503, { resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'transient' }] });
      return json(200, { resourceType: 'CapabilityStatement', status: 'active', kind: 'instance', fhirVersion: '4.0.1', format: ['json'], date: '2026-01-01' });
    }
    if (req.method === 'POST' && req.url === '/fhir') {
      const bundle = JSON.parse(await read(req)) as Bundle;
      transactions.push(bundle);
      if (options.refuse) {
        return json(400, { resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'processing', diagnostics: 'Resource Patient/pat-x not found' }] });
      }
      return json(200, { resourceType: 'Bundle', type: 'transaction-response', entry: (bundle.entry ?? []).map(() => ({ response: { status: '201 Created' } })) });
    }
    json(404, { resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'not-found' }] });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    base: `http://127.0.0.1:${(server.address() as AddressInfo).port}/fhir`,
    transactions,
    metadataCalls: () => metadata,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

const loader = join(projectRoot, 'scripts', 'load-fhir-resources.mjs');

async function load(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [loader, ...args], { cwd: projectRoot });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe('scripts/load-fhir-resources.mjs (the compose loader)', () => {
  test('waits for the server, then PUTs every fixture in one transaction, referenced resources first', async () => {
    const fhir = await transactionServer({ unreadyFor: 1 });
    try {
      const { code, stdout } = await load(['--base', fhir.base, '--dir', 'fhir-resources', '--wait', '20']);
      expect(code).toBe(0);
      const fixtures = [...loadFixtures().values()];
      expect(stdout).toMatch(new RegExp(`waiting for ${fhir.base} \\(HTTP 503\\)`));
      expect(stdout).toContain(`Loaded ${fixtures.length} resources into ${fhir.base} (${fixtures.length} created, 0 updated)`);
      expect(fhir.metadataCalls()).toBe(2);
      expect(fhir.transactions).toHaveLength(1);
      const [bundle] = fhir.transactions;
      expect(bundle?.type).toBe('transaction');
      const entries = bundle?.entry ?? [];
      expect(entries).toHaveLength(fixtures.length);
      for (const entry of entries) {
        const resource = entry.resource as Resource;
        expect(entry.request).toEqual({ method: 'PUT', url: `${resource.resourceType}/${resource.id}` });
        expect(entry.fullUrl).toBe(`${fhir.base}/${resource.resourceType}/${resource.id}`);
        expect(resource).toEqual(loadFixtures().get(`${resource.resourceType}/${resource.id}`));
      }
      const types = entries.map((e) => e.resource!.resourceType);
      expect(types.lastIndexOf('Organization')).toBeLessThan(types.indexOf('Coverage'));
      expect(types.lastIndexOf('Patient')).toBeLessThan(types.indexOf('Coverage'));
      expect(types.lastIndexOf('Coverage')).toBeLessThan(types.indexOf('ServiceRequest'));
      expect(types.lastIndexOf('ServiceRequest')).toBeLessThan(types.indexOf('Appointment'));
    } finally {
      await fhir.close();
    }
  });

  test('a refused transaction exits 1 with the server\'s OperationOutcome; a server that never answers exits 1 after --wait', async () => {
    const refusing = await transactionServer({ refuse: true });
    try {
      const { code, stderr } = await load(['--base', refusing.base, '--dir', 'fhir-resources']);
      expect(code).toBe(1);
      expect(stderr).toContain(`${refusing.base} did not take the transaction: HTTP 400`);
      expect(stderr).toContain('error processing: Resource Patient/pat-x not found');
    } finally {
      await refusing.close();
    }
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const port = (probe.address() as AddressInfo).port;
    await new Promise((resolve) => probe.close(resolve));
    const down = await load(['--base', `http://127.0.0.1:${port}/fhir`, '--wait', '1']);
    expect(down.code).toBe(1);
    expect(down.stderr).toMatch(/\/fhir\/metadata did not answer within 1 s \(last: ECONNREFUSED\)/);
    expect((await load(['--dir', 'fhir-resources'])).code).toBe(2);
  });
});

test('the compose chain in-process: loader → FHIR server; the service as compose configures it answers the hook CLI without prefetch', async () => {
  // 1. The loader fills a FHIR server; 2. a readable FHIR server serves exactly what was loaded.
  const sink = await transactionServer();
  const dir = mkdtempSync(join(tmpdir(), 'crd-compose-'));
  let fhir: Awaited<ReturnType<typeof startFhirServer>> | undefined;
  let crd: TestService | undefined;
  try {
    expect((await load(['--base', sink.base, '--dir', 'fhir-resources'])).code).toBe(0);
    fhir = await startFhirServer({ resources: (sink.transactions[0]?.entry ?? []).map((e) => e.resource as Resource) });

    // 3. The service with compose's settings: production, a trusted-issuers file from `npm run hook -- --trusted-issuers`,
    //    a public base URL, and only the loaded FHIR server allowed.
    const issuers = join(dir, 'trusted-issuers.local.json');
    const printed: string[] = [];
    expect(await hook(['--trusted-issuers'], { out: (t) => printed.push(t), err: () => undefined })).toBe(0);
    writeFileSync(issuers, printed.join('\n'));
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const port = (probe.address() as AddressInfo).port;
    await new Promise((resolve) => probe.close(resolve));
    const config = loadConfig({
      NODE_ENV: 'production',
      CDS_TRUSTED_ISSUERS: issuers,
      CDS_PUBLIC_BASE_URL: `http://localhost:${port}`,
      CDS_FHIR_ALLOWLIST: fhir.baseUrl,
    });
    expect(config.cardView).toBe(false);
    crd = await startTestService({}, { ...config, port });

    // 4. The CLI fires B2 without prefetch: the service reads Patient, Coverage and Encounter from the FHIR server.
    const out: string[] = [];
    const code = await hook(['order-sign-B2', '--url', `http://localhost:${port}`, '--no-prefetch', '--fhir-server', fhir.baseUrl], {
      out: (t) => out.push(t),
      err: (t) => out.push(t),
    });
    expect(out.join('\n')).toContain('inpatient precertification is required');
    expect(code).toBe(0);
    expect(fhir.requests.map((r) => r.url)).toEqual(expect.arrayContaining([expect.stringMatching(/^\/fhir\/Coverage\?patient=pat-anna/)]));
  } finally {
    if (crd) await crd.stop();
    await fhir?.close();
    await sink.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
