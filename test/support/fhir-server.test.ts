import type { Bundle, BundleEntry, Coverage, OperationOutcome, Patient } from 'fhir/r4.js';
import { startFhirServer, type FhirServerOptions, type TestFhirServer } from './fhir-server.js';
import { fixture, loadFixtures, searchset } from './fixtures.js';

const running: TestFhirServer[] = [];

async function start(opts: FhirServerOptions = {}): Promise<TestFhirServer> {
  const server = await startFhirServer(opts);
  running.push(server);
  return server;
}

afterEach(async () => {
  await Promise.all(running.splice(0).map((s) => s.close()));
});

function get(server: TestFhirServer, path: string, init: RequestInit = {}): Promise<Response> {
  return fetch(`${server.baseUrl}/${path}`, init);
}

async function json<T>(res: Response): Promise<T> {
  return (await res.json()) as T;
}

function ids(bundle: Bundle, mode: 'match' | 'include'): string[] {
  return (bundle.entry ?? [])
    .filter((e: BundleEntry) => e.search?.mode === mode)
    .map((e: BundleEntry) => `${e.resource?.resourceType}/${e.resource?.id}`)
    .sort();
}

async function until(condition: () => boolean, timeoutMs = 2000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('fixtures the server serves by default', () => {
  test('every id other tests rely on is present', () => {
    const all = loadFixtures();
    const expected = [
      ...['org-bcbsma', 'org-bcbsma-hmo-blue', 'org-medica-central', 'org-medica', 'org-acme'].map((id) => `Organization/${id}`),
      'Practitioner/pr-okafor',
      ...['anna', 'ben', 'carl', 'dana', 'eve', 'fay', 'gus', 'hal', 'ivy', 'jon', 'kim', 'lee'].map((p) => `Patient/pat-${p}`),
      ...['bcbsma-ppo', 'bcbsma-hmo', 'bcbsma-ma', 'bcbsma-ma-by-name', 'bcbsma-unknown', 'bcbsma-identifier-only', 'bcbsma-contained',
        'bcbsma-display-only', 'medica-commercial', 'medica-medicaid', 'medica-ma', 'medica-unknown', 'hal-bcbsma', 'hal-medica',
        'ivy-expired', 'acme', 'medica-bare'].map((c) => `Coverage/cov-${c}`),
      ...['anna-inpatient', 'anna-ambulatory', 'anna-short-stay', 'dana-inpatient', 'eve-ambulatory'].map((e) => `Encounter/enc-${e}`),
      ...['dn-20560', 'dn-20561-period', 'dn-20561-oid', 'dn-20560-sloppy-system', '20999-dn-text', '20999-unlisted', 'dn-text-only',
        'ims-text-only', 'electro-dn-text-only', 'dn-billing-options', 'tpi-20552', 'tpi-text', 'acupuncture-97810', 'unrelated-97110',
        'dn-category-inpatient', 'dn-category-outpatient', 'dn-pos-21', 'dn-pos-11', 'dn-encounter-inpatient', 'dn-2023',
        'dn-2016-text', 'dn-2024-medica-v1', 'dn-insurance-hal-medica'].map((s) => `ServiceRequest/sr-${s}`),
      'Appointment/appt-dn-anna',
      'Appointment/appt-dn-unreadable',
    ];
    expect(expected.filter((ref) => !all.has(ref))).toEqual([]);
    expect([...all.keys()].filter((ref) => !expected.includes(ref))).toEqual([]);
  });

  test('fixture() returns a deep copy, the shared fixtures stay frozen, unknown refs throw', () => {
    const copy = fixture<Coverage>('Coverage/cov-bcbsma-ppo');
    copy.status = 'cancelled';
    expect(fixture<Coverage>('Coverage/cov-bcbsma-ppo').status).toBe('active');
    expect(Object.isFrozen(loadFixtures().get('Coverage/cov-bcbsma-ppo'))).toBe(true);
    expect(() => fixture('Coverage/cov-nope')).toThrow(/No fixture Coverage\/cov-nope/);
  });

  test('searchset() builds matches then includes, with total counting matches only', () => {
    const bundle = searchset([fixture('Coverage/cov-bcbsma-ppo')], [fixture('Organization/org-bcbsma')]);
    expect(bundle).toMatchObject({
      resourceType: 'Bundle',
      type: 'searchset',
      total: 1,
      entry: [
        { fullUrl: 'http://ehr.example.org/fhir/Coverage/cov-bcbsma-ppo', search: { mode: 'match' } },
        { fullUrl: 'http://ehr.example.org/fhir/Organization/org-bcbsma', search: { mode: 'include' } },
      ],
    });
    expect(searchset([])).toEqual({ resourceType: 'Bundle', type: 'searchset', total: 0 });
  });
});

describe('startFhirServer in ok mode', () => {
  test('listens on loopback with a /fhir base URL', async () => {
    const server = await start();
    expect(server.baseUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/fhir$/);
  });

  test('reads a fixture by type and id, as application/fhir+json', async () => {
    const server = await start();
    const res = await get(server, 'Patient/pat-anna');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/fhir\+json/);
    expect(await json<Patient>(res)).toEqual(fixture<Patient>('Patient/pat-anna'));
  });

  test('records method, path with query, and the Authorization header when sent', async () => {
    const server = await start();
    await get(server, 'Coverage?patient=pat-anna&status=active', { headers: { Authorization: 'Bearer abc123' } });
    await get(server, 'Organization/org-bcbsma');
    expect(server.requests).toEqual([
      { method: 'GET', url: '/fhir/Coverage?patient=pat-anna&status=active', authorization: 'Bearer abc123' },
      { method: 'GET', url: '/fhir/Organization/org-bcbsma' },
    ]);
  });

  test('answers 404 with an OperationOutcome for an unknown id', async () => {
    const server = await start();
    const res = await get(server, 'Encounter/enc-nope');
    expect(res.status).toBe(404);
    const body = await json<OperationOutcome>(res);
    expect(body.resourceType).toBe('OperationOutcome');
    expect(body.issue[0]).toMatchObject({ severity: 'error', code: 'not-found' });
  });

  test('Coverage search by patient and status with _include=Coverage:payor adds the payors as includes', async () => {
    const server = await start();
    const res = await get(server, 'Coverage?patient=pat-hal&status=active&_include=Coverage:payor');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/fhir\+json/);
    const bundle = await json<Bundle>(res);
    expect(bundle).toMatchObject({ resourceType: 'Bundle', type: 'searchset', total: 2 });
    expect(ids(bundle, 'match')).toEqual(['Coverage/cov-hal-bcbsma', 'Coverage/cov-hal-medica']);
    expect(ids(bundle, 'include')).toEqual(['Organization/org-bcbsma', 'Organization/org-medica-central']);
    expect(bundle.entry?.[0]?.fullUrl).toBe(`${server.baseUrl}/Coverage/cov-hal-bcbsma`);
    expect(bundle.link?.[0]?.url).toBe(`${server.baseUrl}/Coverage?patient=pat-hal&status=active&_include=Coverage:payor`);
  });

  test('_include follows only real references: contained, logical and display-only payors add nothing, duplicates once', async () => {
    const server = await start();
    const anna = await json<Bundle>(await get(server, 'Coverage?patient=Patient/pat-anna&_include=Coverage:payor'));
    expect(ids(anna, 'match')).toEqual(['Coverage/cov-bcbsma-contained', 'Coverage/cov-bcbsma-display-only', 'Coverage/cov-bcbsma-ppo']);
    expect(ids(anna, 'include')).toEqual(['Organization/org-bcbsma']);

    const dana = await json<Bundle>(await get(server, 'Coverage?beneficiary=pat-dana&_include=Coverage:payor'));
    expect(ids(dana, 'match')).toEqual(['Coverage/cov-bcbsma-identifier-only', 'Coverage/cov-bcbsma-unknown']);
    expect(ids(dana, 'include')).toEqual(['Organization/org-bcbsma']);

    const noInclude = await json<Bundle>(await get(server, 'Coverage?patient=pat-hal'));
    expect(ids(noInclude, 'include')).toEqual([]);
  });

  test('searches by _id list, subject and status; unknown parameters are ignored', async () => {
    const server = await start();
    const byId = await json<Bundle>(await get(server, 'ServiceRequest?_id=sr-dn-20560,sr-tpi-20552&_count=50&flavour=vanilla'));
    expect(ids(byId, 'match')).toEqual(['ServiceRequest/sr-dn-20560', 'ServiceRequest/sr-tpi-20552']);

    const bySubject = await json<Bundle>(await get(server, 'ServiceRequest?subject=Patient/pat-hal'));
    expect(ids(bySubject, 'match')).toEqual(['ServiceRequest/sr-dn-insurance-hal-medica']);

    const encounters = await json<Bundle>(await get(server, 'Encounter?patient=pat-anna&status=in-progress'));
    expect(ids(encounters, 'match')).toEqual(['Encounter/enc-anna-ambulatory', 'Encounter/enc-anna-inpatient']);
  });

  test('an empty result is a searchset with total 0 and no entry', async () => {
    const server = await start();
    const bundle = await json<Bundle>(await get(server, 'Coverage?patient=pat-kim&_include=Coverage:payor'));
    expect(bundle).toMatchObject({ resourceType: 'Bundle', type: 'searchset', total: 0 });
    expect(bundle.entry).toBeUndefined();
  });

  test('serves only the resources it is given', async () => {
    const server = await start({ resources: [fixture('Patient/pat-kim')] });
    expect((await get(server, 'Patient/pat-kim')).status).toBe(200);
    expect((await get(server, 'Patient/pat-anna')).status).toBe(404);
  });

  test('delayMs delays the answer', async () => {
    const server = await start({ delayMs: 150 });
    const started = Date.now();
    const res = await get(server, 'Patient/pat-anna');
    expect(res.status).toBe(200);
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);
  });
});

describe('startFhirServer failure modes', () => {
  test('status-500 answers 500 with an OperationOutcome', async () => {
    const server = await start({ mode: 'status-500' });
    const res = await get(server, 'Coverage?patient=pat-anna');
    expect(res.status).toBe(500);
    expect((await json<OperationOutcome>(res)).resourceType).toBe('OperationOutcome');
  });

  test('non-json answers 200 with an HTML page', async () => {
    const server = await start({ mode: 'non-json' });
    const res = await get(server, 'Patient/pat-anna');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    const text = await res.text();
    expect(() => JSON.parse(text)).toThrow();
  });

  test('operation-outcome answers 200 with an OperationOutcome to reads and searches alike', async () => {
    const server = await start({ mode: 'operation-outcome' });
    for (const path of ['Patient/pat-anna', 'Coverage?patient=pat-anna']) {
      const res = await get(server, path);
      expect(res.status).toBe(200);
      expect((await json<OperationOutcome>(res)).resourceType).toBe('OperationOutcome');
    }
  });

  test('redirect answers 302 to redirectTo and records the request', async () => {
    const server = await start({ mode: 'redirect', redirectTo: 'https://elsewhere.example.net/fhir' });
    const res = await get(server, 'Coverage?patient=pat-anna', { redirect: 'manual', headers: { Authorization: 'Bearer secret' } });
    expect(res.status).toBe(302);
    expect(res.headers.get('location')).toBe('https://elsewhere.example.net/fhir');
    expect(server.requests).toEqual([{ method: 'GET', url: '/fhir/Coverage?patient=pat-anna', authorization: 'Bearer secret' }]);
  });

  test('hang never answers, yet close() ends promptly and the client sees the connection drop', async () => {
    const server = await startFhirServer({ mode: 'hang' });
    const pending = get(server, 'Coverage?patient=pat-anna').then(
      () => 'answered',
      () => 'failed',
    );
    await until(() => server.requests.length === 1);
    const closing = Date.now();
    await server.close();
    expect(Date.now() - closing).toBeLessThan(1000);
    expect(await pending).toBe('failed');
  });

  test('close() also cancels answers still waiting on delayMs', async () => {
    const server = await startFhirServer({ delayMs: 5000 });
    const pending = get(server, 'Patient/pat-anna').then(
      () => 'answered',
      () => 'failed',
    );
    await until(() => server.requests.length === 1);
    const closing = Date.now();
    await server.close();
    expect(Date.now() - closing).toBeLessThan(1000);
    expect(await pending).toBe('failed');
  });
});
