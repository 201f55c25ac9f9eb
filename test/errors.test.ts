/**
 * DECISIONS §5: errors instead of determinations. One named test per row, plus every kind of bad
 * input: each answer is a 4xx with an OperationOutcome (checked by postHook), never a 500.
 */
import request from 'supertest';
import { randomUUID } from 'node:crypto';
import { testIssuers } from './support/clients.js';
import { startFhirServer, type FhirServerMode, type TestFhirServer } from './support/fhir-server.js';
import { authHeader, coverageInfo, example, orderSignRequest, postHook, sandboxCapture, testApp } from './support/hook-client.js';

const { app } = testApp({ fhirTimeoutMs: 800 });

function diagnostics(body: any): string {
  return body.issue.map((i: any) => i.diagnostics).join(' ');
}

describe('DECISIONS §5 errors instead of determinations', () => {
  let fhir: TestFhirServer;
  beforeAll(async () => {
    fhir = await startFhirServer();
  });
  afterAll(() => fhir.close());

  test('no Coverage in the prefetch → 400 with an OperationOutcome', async () => {
    const { status, body } = await postHook(app, 'crd-order-sign', example('error-400-no-coverage.json'));
    expect(status).toBe(400);
    expect(diagnostics(body)).toMatch(/No Coverage was found/);
  });

  test('no Coverage from the prefetch nor from the FHIR query → 400', async () => {
    const req = orderSignRequest({ patient: 'pat-kim', orders: ['ServiceRequest/sr-dn-20560'], fhirServer: fhir.baseUrl });
    const { status, body } = await postHook(app, 'crd-order-sign', req);
    expect(status).toBe(400);
    expect(diagnostics(body)).toMatch(/No Coverage was found/);
    expect(fhir.requests.some((r) => r.url.startsWith('/fhir/Coverage?') && r.url.includes('patient=pat-kim'))).toBe(true);
  });

  test('Coverages exist but none is with a payer this service serves → 400', async () => {
    const { status, body } = await postHook(app, 'crd-order-sign', example('error-400-payer-not-served.json'));
    expect(status).toBe(400);
    expect(diagnostics(body)).toMatch(/payer this service serves/);
  });

  test('a bare "Medica" is not Medica Central → 400 payer not served', async () => {
    const req = orderSignRequest({ patient: 'pat-lee', coverages: ['Coverage/cov-medica-bare'], orders: ['ServiceRequest/sr-dn-20560'] });
    const { status } = await postHook(app, 'crd-order-sign', req);
    expect(status).toBe(400);
  });

  test('Coverage needed, not prefetched, no fhirServer → 412', async () => {
    const { status, body } = await postHook(app, 'crd-order-sign', example('error-412-coverage-unreachable.json'));
    expect(status).toBe(412);
    expect(diagnostics(body)).toMatch(/not prefetched/);
  });

  test('Coverage needed, not prefetched, FHIR server down → 412', async () => {
    const down = await startFhirServer();
    const base = down.baseUrl;
    await down.close();
    const req = orderSignRequest({ patient: 'pat-anna', orders: ['ServiceRequest/sr-dn-20560'], fhirServer: base });
    const { status, body } = await postHook(app, 'crd-order-sign', req);
    expect(status).toBe(412);
    expect(diagnostics(body)).toMatch(/could not be reached/);
  });

  test.each<[FhirServerMode, RegExp]>([
    ['hang', /deadline/],
    ['status-500', /HTTP 500/],
    ['non-json', /not JSON/],
    ['operation-outcome', /OperationOutcome/],
    ['redirect', /could not be reached|HTTP 302/],
  ])('Coverage needed, not prefetched, FHIR server answers "%s" → 412 within the timeout', async (mode, why) => {
    const server = await startFhirServer({ mode, redirectTo: `${fhir.baseUrl}` });
    try {
      const req = orderSignRequest({ patient: 'pat-anna', orders: ['ServiceRequest/sr-dn-20560'], fhirServer: server.baseUrl, accessToken: 'secret-token' });
      const started = Date.now();
      const { status, body } = await postHook(app, 'crd-order-sign', req);
      expect(status).toBe(412);
      expect(diagnostics(body)).toMatch(why);
      expect(Date.now() - started).toBeLessThan(1500);
    } finally {
      await server.close();
    }
  });

  test('a redirect is not followed: the access token never reaches another host', async () => {
    const elsewhere = await startFhirServer();
    const server = await startFhirServer({ mode: 'redirect', redirectTo: `${elsewhere.baseUrl}/Coverage?patient=pat-anna` });
    try {
      const req = orderSignRequest({ patient: 'pat-anna', orders: ['ServiceRequest/sr-dn-20560'], fhirServer: server.baseUrl, accessToken: 'secret-token' });
      const { status } = await postHook(app, 'crd-order-sign', req);
      expect(status).toBe(412);
      expect(elsewhere.requests).toHaveLength(0);
    } finally {
      await Promise.all([server.close(), elsewhere.close()]);
    }
  });

  test('a fhirServer that is not allowed → 412, and no request is made to it at all', async () => {
    const stranger = await startFhirServer({ allowed: false });
    try {
      const req = orderSignRequest({ patient: 'pat-anna', orders: ['ServiceRequest/sr-dn-20560'], fhirServer: stranger.baseUrl, accessToken: 'secret-token' });
      const { status, body } = await postHook(app, 'crd-order-sign', req);
      expect(status).toBe(412);
      expect(diagnostics(body)).toMatch(/not one this service is allowed to query/);
      // With the Coverage prefetched, the Encounter is not read from it either: B3, still no request.
      const withCoverage = orderSignRequest({ ...req, patient: 'pat-anna', coverages: ['Coverage/cov-bcbsma-ppo'], orders: ['ServiceRequest/sr-dn-20560'], encounter: 'enc-anna-inpatient', prefetchEncounter: false, fhirServer: stranger.baseUrl, accessToken: 'secret-token' });
      const b3 = await postHook(app, 'crd-order-sign', withCoverage);
      expect(b3.status).toBe(200);
      expect(coverageInfo(b3.body)[0]).toMatchObject({ covered: 'conditional', infoNeeded: ['location'] });
      expect(stranger.requests).toHaveLength(0);
    } finally {
      await stranger.close();
    }
  });

  test("a server on the calling issuer's own fhirServers list is allowed", async () => {
    const ehr = await startFhirServer({ allowed: false });
    try {
      const { app: issuerApp } = testApp({ issuers: testIssuers({ fhirServers: [ehr.baseUrl] }) });
      const req = orderSignRequest({ patient: 'pat-anna', orders: ['ServiceRequest/sr-dn-20560'], fhirServer: ehr.baseUrl, accessToken: 'secret-token' });
      const { status } = await postHook(issuerApp, 'crd-order-sign', req);
      expect(status).toBe(200);
      expect(ehr.requests.length).toBeGreaterThan(0);
      // The access token goes to that server, as a Bearer token, and nowhere else.
      expect(ehr.requests.every((r) => r.authorization === 'Bearer secret-token')).toBe(true);
      // Another issuer's calls may not use it.
      const other = await postHook(app, 'crd-order-sign', { ...req, hookInstance: randomUUID() });
      expect(other.status).toBe(412);
    } finally {
      await ehr.close();
    }
  });

  test('a FHIR answer larger than the cap → 412, not a 500 or a hang', async () => {
    const { app: capped } = testApp({ maxResponseBytes: 1000 });
    const req = orderSignRequest({ patient: 'pat-anna', orders: ['ServiceRequest/sr-dn-20560'], fhirServer: fhir.baseUrl });
    const { status, body } = await postHook(capped, 'crd-order-sign', req);
    expect(status).toBe(412);
    expect(diagnostics(body)).toMatch(/larger than this service accepts/);
  });

  test('the Encounter cannot be fetched but the rest is known → no error, setting unknown → B3', async () => {
    const server = await startFhirServer({ mode: 'status-500' });
    try {
      const req = orderSignRequest({
        patient: 'pat-anna',
        coverages: ['Coverage/cov-bcbsma-ppo'],
        orders: ['ServiceRequest/sr-dn-20560'],
        encounter: 'enc-anna-inpatient',
        prefetchEncounter: false,
        fhirServer: server.baseUrl,
      });
      const { status, body } = await postHook(app, 'crd-order-sign', req);
      expect(status).toBe(200);
      expect(coverageInfo(body)[0]).toMatchObject({ covered: 'conditional', paNeeded: 'conditional', infoNeeded: ['location'] });
      expect(server.requests.map((r) => r.url)).toEqual(['/fhir/Encounter/enc-anna-inpatient']);
    } finally {
      await server.close();
    }
  });

  test('the payer Organization cannot be fetched but the display names the payer → no error, decided', async () => {
    const req = orderSignRequest({ patient: 'pat-anna', coverages: [], orders: ['ServiceRequest/sr-dn-20560'], encounter: 'enc-anna-ambulatory' });
    const coverage = structuredClone((await import('./support/fixtures.js')).fixture<any>('Coverage/cov-bcbsma-hmo'));
    coverage.beneficiary = { reference: 'Patient/pat-anna' };
    coverage.payor = [{ reference: 'Organization/not-on-server', display: 'Blue Cross and Blue Shield of Massachusetts HMO Blue' }];
    req.prefetch.coverage = { resourceType: 'Bundle', type: 'searchset', entry: [{ resource: coverage }] };
    req.fhirServer = fhir.baseUrl;
    const { status, body } = await postHook(app, 'crd-order-sign', req);
    expect(status).toBe(200);
    expect(coverageInfo(body)[0]).toMatchObject({ covered: 'not-covered' });
  });

  test('the payer Organization cannot be fetched and nothing else names it → 400 payer not served', async () => {
    const req = orderSignRequest({ patient: 'pat-anna', coverages: [], orders: ['ServiceRequest/sr-dn-20560'] });
    req.prefetch.coverage = {
      resourceType: 'Bundle',
      type: 'searchset',
      entry: [{ resource: { resourceType: 'Coverage', id: 'c1', status: 'active', beneficiary: { reference: 'Patient/pat-anna' }, payor: [{ reference: 'Organization/missing' }] } }],
    };
    req.fhirServer = fhir.baseUrl;
    const { status } = await postHook(app, 'crd-order-sign', req);
    expect(status).toBe(400);
  });
});

describe('DECISIONS §5 malformed requests → 400 with an OperationOutcome', () => {
  const valid = () => example('order-sign-B1-bcbsma-outpatient.json');

  test('body is not JSON → 400', async () => {
    const { status, body } = await postHook(app, 'crd-order-sign', '{"hook": "order-sign", ', true);
    expect(status).toBe(400);
    expect(diagnostics(body)).toMatch(/not valid JSON/);
  });

  test('body is JSON but not an object → 400', async () => {
    for (const body of ['[]', '"order-sign"', '42', 'null']) {
      const answer = await postHook(app, 'crd-order-sign', body, true);
      expect(answer.status).toBe(400);
    }
  });

  test('empty body → 400', async () => {
    const res = await request(app).post('/cds-services/crd-order-sign').set(await authHeader(app, '/cds-services/crd-order-sign'));
    expect(res.status).toBe(400);
    expect(res.body.resourceType).toBe('OperationOutcome');
  });

  test.each(['hook', 'hookInstance', 'context'])('missing "%s" → 400 naming it', async (field) => {
    const req = valid();
    delete req[field];
    const { status, body } = await postHook(app, 'crd-order-sign', req);
    expect(status).toBe(400);
    expect(diagnostics(body)).toContain(`"${field}"`);
  });

  test.each(['patientId', 'userId', 'draftOrders'])('order-sign context without "%s" → 400', async (field) => {
    const req = valid();
    delete req.context[field];
    const { status, body } = await postHook(app, 'crd-order-sign', req);
    expect(status).toBe(400);
    expect(diagnostics(body)).toContain(field);
  });

  test('wrong hook for the service → 400', async () => {
    const req = valid();
    req.hook = 'order-select';
    req.context.selections = ['ServiceRequest/sr-dn-20560'];
    const { status, body } = await postHook(app, 'crd-order-sign', req);
    expect(status).toBe(400);
    expect(diagnostics(body)).toMatch(/answers the "order-sign" hook/);
  });

  test('fhirAuthorization without fhirServer → 400', async () => {
    const req = valid();
    delete req.fhirServer;
    const { status, body } = await postHook(app, 'crd-order-sign', req);
    expect(status).toBe(400);
    expect(diagnostics(body)).toMatch(/fhirServer/);
  });

  test('draftOrders that is not a Bundle → 400', async () => {
    const req = valid();
    req.context.draftOrders = { resourceType: 'ServiceRequest', id: 'x' };
    expect((await postHook(app, 'crd-order-sign', req)).status).toBe(400);
  });

  test('wrong types (hookInstance a number, context an array, prefetch a string) → 400', async () => {
    for (const mutate of [(r: any) => (r.hookInstance = 42), (r: any) => (r.context = []), (r: any) => (r.prefetch = 'x'), (r: any) => (r.fhirServer = 'ftp://x')]) {
      const req = valid();
      mutate(req);
      expect((await postHook(app, 'crd-order-sign', req)).status).toBe(400);
    }
  });

  // Found by the property-based fuzz test (test/fuzz.test.ts); kept as named regressions.
  test('fuzz regression: with authentication off, appointment-book is answered (Node names the socket req.client)', async () => {
    const { app: open } = testApp({ auth: 'off' });
    const { status } = await postHook(open, 'crd-appointment-book', example('appointment-book-B2-bcbsma-inpatient.json'));
    expect(status).toBe(200);
  });

  test('fuzz regression: a null or empty value inside the dry-needling order → 400 naming it (it would come back in the systemAction)', async () => {
    for (const [mutate, at] of [
      [(o: any) => (o.reasonCode[0].coding[0].system = null), '/reasonCode/0/coding/0/system'],
      [(o: any) => (o.note = []), '/note'],
      [(o: any) => (o.requester.display = ''), '/requester/display'],
    ] as const) {
      const req = valid();
      mutate(req.context.draftOrders.entry[0].resource);
      const { status, body } = await postHook(app, 'crd-order-sign', req);
      expect(status).toBe(400);
      expect(diagnostics(body)).toContain(`null or empty value at ${at}`);
    }
  });

  test('an order holding a number JSON cannot carry (1e400) or a lone surrogate → 400 naming it, not a 503 from its fingerprint', async () => {
    // Sent as raw text: JSON.parse makes 1e400 Infinity (it would come back as null) and keeps an
    // escaped lone surrogate, which canonical JSON (RFC 8785) for the order's fingerprint refuses.
    const text = JSON.stringify(valid());
    for (const [raw, why, at] of [
      [text.replace('"status":"draft"', '"status":"draft","quantityQuantity":{"value":1e400}'), 'a number too large for JSON', '/quantityQuantity/value'],
      [text.replace('"status":"draft"', '"status":"draft","patientInstruction":"x\\ud800y"'), 'a lone UTF-16 surrogate', '/patientInstruction'],
      [text.replace('"status":"draft"', '"status":"draft","_status":{"\\udc00":"k"}'), 'a key with a lone UTF-16 surrogate', '/_status/\udc00'],
    ] as const) {
      expect(raw).not.toBe(text);
      const { status, body } = await postHook(app, 'crd-order-sign', raw, true);
      expect(status).toBe(400);
      expect(diagnostics(body)).toContain(`has ${why}`);
      expect(diagnostics(body)).toContain(at);
    }
  });

  test('fuzz regression: an order whose code.extension is an object, not an array → 400, not a 500', async () => {
    const req = valid();
    req.context.draftOrders.entry[0].resource.code.extension = { url: 'x', valueString: 'y' };
    const { status, body } = await postHook(app, 'crd-order-sign', req);
    expect(status).toBe(400);
    expect(diagnostics(body)).toMatch(/\/code\/extension/);
  });

  test('fuzz regression: a Coverage whose id is not a valid FHIR id → 400 (coverage information must reference it)', async () => {
    const req = valid();
    req.prefetch.coverage.entry[0].resource.id = 'cov|[';
    const { status, body } = await postHook(app, 'crd-order-sign', req);
    expect(status).toBe(400);
    expect(diagnostics(body)).toMatch(/no valid FHIR id/);
  });

  test('an unknown service id → 404 with an OperationOutcome', async () => {
    const { status, body } = await postHook(app, 'crd-no-such-service', valid());
    expect(status).toBe(404);
    expect(diagnostics(body)).toMatch(/No CDS service/);
  });

  test('an unknown path and an unsupported method → 404 with an OperationOutcome', async () => {
    for (const res of [await request(app).get('/nothing-here'), await request(app).delete('/cds-services/crd-order-sign').set(await authHeader(app, '/cds-services/crd-order-sign'))]) {
      expect(res.status).toBe(404);
      expect(res.body.resourceType).toBe('OperationOutcome');
    }
  });

  test('a body over the size limit → 413 with an OperationOutcome', async () => {
    const req = valid();
    req.context.padding = 'x'.repeat(1_100_000);
    const { status, body } = await postHook(app, 'crd-order-sign', req);
    expect(status).toBe(413);
    expect(body.resourceType).toBe('OperationOutcome');
  });

  test('an irrelevant malformed resource (the Sandbox\'s MedicationRequest with an object category) is ignored → 200', async () => {
    const { status, body } = await postHook(app, 'crd-order-sign', sandboxCapture('medicationrequest'));
    expect(status).toBe(200);
    expect(body).toEqual({ cards: [], systemActions: [] });
  });

  test('a malformed irrelevant resource beside a dry-needling order does not stop the decision', async () => {
    const req = valid();
    req.context.draftOrders.entry.push({ resource: sandboxCapture('medicationrequest').context.draftOrders.entry[0].resource });
    req.context.draftOrders.entry.push({ resource: { resourceType: 'ServiceRequest', code: 'not-a-concept', category: 7 } });
    req.context.draftOrders.entry.push({ notAResource: true }, 5, null);
    req.prefetch.coverage.entry.push({ resource: { resourceType: 'Organization' } }, { resource: 'junk' });
    const { status, body } = await postHook(app, 'crd-order-sign', req);
    expect(status).toBe(200);
    expect(coverageInfo(body)).toHaveLength(1);
  });
});

describe('values of the wrong JSON type inside resources: a clear 400 or a decision, never a 500 (found by fuzzing)', () => {
  const order = (r: any) => r.context.draftOrders.entry[0].resource;
  const coverage = (r: any) => r.prefetch.coverage.entry[0].resource;
  test.each<[string, string, number, RegExp | undefined, (r: any) => void]>([
    ['a coding system that is a number', 'order-sign-B1-bcbsma-outpatient.json', 400, /ServiceRequest\/sr-dn-20560 is not valid FHIR R4 at \/code\/coding\/0\/system/, (r) => (order(r).code.coding[0].system = 5)],
    ['a code that is a number', 'order-sign-B1-bcbsma-outpatient.json', 400, /at \/code\/coding\/0\/code/, (r) => (order(r).code.coding[0].code = 20560)],
    ['an order extension whose sub-extensions are a string', 'order-sign-B1-bcbsma-outpatient.json', 400, /at \/extension\/0\/extension/, (r) => (order(r).extension = [{ url: 'http://hl7.org/fhir/us/davinci-crd/StructureDefinition/ext-coverage-information', extension: 'x' }])],
    ['an order category that is an object (as the Sandbox sends on its MedicationRequest)', 'order-sign-B3-bcbsma-setting-unknown.json', 400, /at \/category/, (r) => (order(r).category = { coding: [{ code: 'x' }] })],
    ['an insurance reference that is an object', 'order-sign-B1-bcbsma-outpatient.json', 400, /at \/insurance\/0\/reference/, (r) => (order(r).insurance = [{ reference: { x: 1 } }])],
    ['an Appointment basedOn reference that is a number', 'appointment-book-B2-bcbsma-inpatient.json', 400, /Appointment\/appt-dn-anna is not valid FHIR R4 at \/basedOn\/0\/reference/, (r) => (r.context.appointments.entry[0].resource.basedOn = [{ reference: 7 }])],
    ['a payor identifier value that is a number (the payer cannot be recognised)', 'order-sign-B1-bcbsma-outpatient.json', 400, /payer this service serves/, (r) => (coverage(r).payor = [{ identifier: { system: 'urn:oid:2.16.840.1.113883.6.300', value: 53228 } }])],
    ['a Coverage period that is a string (read as no period)', 'order-sign-B1-bcbsma-outpatient.json', 200, undefined, (r) => (coverage(r).period = '2026')],
  ])('%s → %i', async (_name, file, expected, why, mutate) => {
    const req = example(file);
    mutate(req);
    const { status, body } = await postHook(app, `crd-${req.hook as string}`, req);
    expect(status).toBe(expected);
    if (why) expect(diagnostics(body)).toMatch(why);
  });
});
