/**
 * `npm run hook` against a live service started in-process (default configuration: client
 * authentication required, the development key trusted), as a developer uses it next to `npm start`.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureDevKey, DEV_ISSUER } from '../src/auth/dev-key.js';
import { loadTrustedIssuers } from '../src/auth/trusted-issuers.js';
import { main } from '../src/cli/hook.js';
import { startFhirServer, type TestFhirServer } from './support/fhir-server.js';
import { projectRoot } from './support/fixtures.js';
import { startTestService, type TestService } from './support/service.js';

let running: TestService;
let base: string;
let fhir: TestFhirServer;

beforeAll(async () => {
  fhir = await startFhirServer();
  running = await startTestService({ CDS_FHIR_ALLOWLIST: fhir.baseUrl });
  base = running.base;
});

afterAll(async () => {
  await running.stop();
  await fhir.close();
});

async function hook(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(argv, { out: (t) => out.push(t), err: (t) => err.push(t) });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

test('a scenario by part of its name: the cards and the coverage information in words, exit 0', async () => {
  const { code, out, err } = await hook('B2', '--url', base);
  expect(err).toBe('');
  expect(code).toBe(0);
  expect(out).toContain(`POST ${base}/cds-services/crd-order-sign  scenario order-sign-B2-bcbsma-inpatient (B2:`);
  expect(out).toMatch(/^HTTP 200 in \d+ ms$/m);
  expect(out).toContain('[WARNING] Blue Cross Blue Shield of Massachusetts: dry needling is investigational; inpatient precertification is required');
  expect(out).toContain('  Source: Blue Cross Blue Shield of Massachusetts <https://www.bluecrossma.org/medical-policies/>');
  expect(out).toMatch(/^ {2}Link: BCBS MA medical policies \(Dry Needling of Trigger Points for Myofascial Pain\) <https:\/\/.+>$/m);
  expect(out).toContain('  Override reasons: ');
  expect(out).toContain('  ServiceRequest/sr-dn-20560 "Dry needling, 1-2 muscles"');
  expect(out).toContain('    Coverage/cov-bcbsma-ppo:');
  expect(out).toContain('      Prior authorization needed.');
  expect(out).not.toContain('Detail:');
});

test('a request file, with --detail: the markdown detail under each card', async () => {
  const { code, out } = await hook(join(projectRoot, 'cds-hooks', 'order-sign-B3-bcbsma-setting-unknown.json'), '--url', base, '--detail');
  expect(code).toBe(0);
  expect(out).toContain('  Suggestions: [Record as outpatient (ambulatory)] [Record as inpatient]');
  expect(out).toMatch(/^ {2}Detail:\n {4}Under the Blue Cross Blue Shield of Massachusetts policy/m);
  expect(out).toContain('Still needed for a decision: where the service will be performed (the care setting).');
});

test('--care-setting records the setting on the order: B3 as outpatient gets the B1 answer', async () => {
  const { code, out } = await hook('B3', '--url', base, '--care-setting', 'outpatient');
  expect(code).toBe(0);
  expect(out).toContain('investigational and not a covered service outpatient');
  expect(out).toContain('      Not covered.');
});

test('no cards: says so (D1, X1)', async () => {
  const { code, out } = await hook('order-sign-X1', '--url', base);
  expect(code).toBe(0);
  expect(out).toContain('No cards.');
  expect(out).toContain('No coverage information on any order.');
});

test('--no-prefetch --fhir-server: the service reads the patient, Coverage and Encounter from that FHIR server', async () => {
  const before = fhir.requests.length;
  const { code, out } = await hook('order-sign-B2', '--url', base, '--no-prefetch', '--fhir-server', fhir.baseUrl);
  expect(code).toBe(0);
  expect(out).toContain('inpatient precertification is required');
  const asked = fhir.requests.slice(before).map((r) => r.url);
  expect(asked).toEqual(expect.arrayContaining([expect.stringMatching(/^\/fhir\/Coverage\?patient=pat-anna/), '/fhir/Encounter/enc-anna-inpatient']));
});

test('a 4xx: the OperationOutcome is printed and the exit code is 1', async () => {
  const noCoverage = await hook('error-400-no-coverage', '--url', base);
  expect(noCoverage.code).toBe(1);
  expect(noCoverage.out).toMatch(/^HTTP 400 in \d+ ms$/m);
  expect(noCoverage.out).toContain('OperationOutcome:\n  error invalid: No Coverage was found for the patient');

  const unsigned = await hook('M1', '--url', base, '--no-auth');
  expect(unsigned.code).toBe(1);
  expect(unsigned.err).toMatch(/^Discovery .* answered HTTP 401/);
  const unsignedCall = await hook('M1', '--url', base, '--no-auth', '--service', 'crd-order-sign');
  expect(unsignedCall.code).toBe(1);
  expect(unsignedCall.out).toMatch(/^HTTP 401 in \d+ ms$/m);
  expect(unsignedCall.out).toContain('OperationOutcome:');
});

test('--json prints the CDS Hooks response itself', async () => {
  const { code, out } = await hook('M1', '--url', base, '--json');
  expect(code).toBe(0);
  const response = JSON.parse(out);
  expect(response.cards[0].summary).toMatch(/Medica Central/);
  expect(response.systemActions[0].type).toBe('update');
});

test('usage errors exit 2 with the usage; --list lists the scenarios; an unreachable service exits 1', async () => {
  const ambiguous = await hook('error-400', '--url', base);
  expect(ambiguous.code).toBe(2);
  expect(ambiguous.err).toMatch(/several scenarios: error-400-no-coverage, error-400-payer-not-served[\s\S]*usage: npm run hook/);
  expect((await hook()).code).toBe(2);
  expect((await hook('M1', '--care-setting', 'ward')).code).toBe(2);
  expect((await hook('M1', '--bogus')).code).toBe(2);

  const list = await hook('--list');
  expect(list.code).toBe(0);
  expect(list.out).toMatch(/^M1 +order-sign-M1-medica-commercial +Medica Central commercial/m);

  const closed = createServer();
  await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
  const port = (closed.address() as AddressInfo).port;
  await new Promise((resolve) => closed.close(resolve));
  const unreachable = await hook('M1', '--url', `http://127.0.0.1:${port}`);
  expect(unreachable.code).toBe(1);
  expect(unreachable.err).toMatch(/^Cannot reach the service at http:\/\/127\.0\.0\.1:\d+: ECONNREFUSED\. Is it running \(npm start\)\?$/);
});

test('--trusted-issuers prints a valid trusted-issuers file: the CDS Hooks Sandbox and the public half of the development key', async () => {
  const { code, out } = await hook('--trusted-issuers');
  expect(code).toBe(0);
  const dir = mkdtempSync(join(tmpdir(), 'crd-issuers-'));
  try {
    writeFileSync(join(dir, 'issuers.json'), out);
    const issuers = loadTrustedIssuers(join(dir, 'issuers.json'));
    expect(issuers.map((i) => i.iss)).toEqual(['https://sandbox.cds-hooks.org', DEV_ISSUER]);
    expect(issuers[1]?.jwks).toEqual((await ensureDevKey()).jwks);
    expect(out).not.toMatch(/"d":/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
