/**
 * Requests shaped the way real EHRs send them: code-system variants, payers known only by display,
 * identifier or a contained Organization, missing prefetch served by a loopback FHIR server,
 * several Coverages, and the CDS Hooks Sandbox's own captured requests.
 */
import { fixture } from './support/fixtures.js';
import { startFhirServer, type TestFhirServer } from './support/fhir-server.js';
import { coverageInfo, orderSignRequest, postHook, sandboxCapture, testApp } from './support/hook-client.js';

const { app, logs } = testApp();
const bcbsOutpatient = { patient: 'pat-anna', coverages: ['Coverage/cov-bcbsma-ppo'], encounter: 'enc-anna-ambulatory' };

describe('orders as EHRs code them', () => {
  test.each([
    ['CPT as its OID urn:oid:2.16.840.1.113883.6.12', 'ServiceRequest/sr-dn-20561-oid', 'code', '20561'],
    ['CPT with a sloppy https URL and trailing slash', 'ServiceRequest/sr-dn-20560-sloppy-system', 'code', '20560'],
    ['CPT only in the CRD 2.2 billing-options extension', 'ServiceRequest/sr-dn-billing-options', 'billing options', '20560'],
    ['CPT 20999 with a dry-needling description', 'ServiceRequest/sr-20999-dn-text', 'code and description', '20999'],
    ['text only: "Functional dry needling"', 'ServiceRequest/sr-dn-text-only', 'matched by description', undefined],
    ['text only: "Intramuscular stimulation (IMS)"', 'ServiceRequest/sr-ims-text-only', 'matched by description', undefined],
    ['text only: "Electro-dry needling"', 'ServiceRequest/sr-electro-dn-text-only', 'matched by description', undefined],
  ])('%s → recognised as dry needling (B1)', async (_name, order, how, billingCode) => {
    const { body } = await postHook(app, 'crd-order-sign', orderSignRequest({ ...bcbsOutpatient, orders: [order] }));
    expect(coverageInfo(body)).toEqual([expect.objectContaining({ covered: 'not-covered', billingCode })]);
    expect(body.cards[0].detail).toContain(how);
  });

  test('the billingCode is the canonical CPT coding whatever system alias the order used', async () => {
    const { body } = await postHook(app, 'crd-order-sign', orderSignRequest({ ...bcbsOutpatient, orders: ['ServiceRequest/sr-dn-20561-oid'] }));
    const ext = body.systemActions[0].resource.extension.at(-1).extension.find((e: any) => e.url === 'billingCode');
    expect(ext.valueCoding).toMatchObject({ system: 'http://www.ama-assn.org/go/cpt', code: '20561' });
  });

  test.each([
    'ServiceRequest/sr-tpi-20552',
    'ServiceRequest/sr-tpi-text',
    'ServiceRequest/sr-acupuncture-97810',
    'ServiceRequest/sr-unrelated-97110',
  ])('%s is never dry needling → no card, no systemAction', async (order) => {
    const { body } = await postHook(app, 'crd-order-sign', orderSignRequest({ ...bcbsOutpatient, orders: [order] }));
    expect(body).toEqual({ cards: [], systemActions: [] });
  });

  test('one order-sign with dry needling and other orders → a systemAction only for the dry-needling order', async () => {
    const req = orderSignRequest({ ...bcbsOutpatient, orders: ['ServiceRequest/sr-unrelated-97110', 'ServiceRequest/sr-dn-20560', 'ServiceRequest/sr-tpi-20552'] });
    const { body } = await postHook(app, 'crd-order-sign', req);
    expect(body.systemActions.map((a: any) => a.resource.id)).toEqual(['sr-dn-20560']);
  });

  test('two dry-needling orders with one determination → one card naming both orders, one systemAction each, one assertion id', async () => {
    const req = orderSignRequest({ ...bcbsOutpatient, orders: ['ServiceRequest/sr-dn-20560', 'ServiceRequest/sr-dn-20561-oid'] });
    const { body } = await postHook(app, 'crd-order-sign', req);
    expect(body.cards).toHaveLength(1);
    expect(body.cards[0].extension['davinci-crd.associated-resource']).toEqual(['ServiceRequest/sr-dn-20560', 'ServiceRequest/sr-dn-20561-oid']);
    expect(body.cards[0].detail).toContain('sr-dn-20561-oid');
    const infos = coverageInfo(body);
    expect(infos).toHaveLength(2);
    expect(new Set(infos.map((i) => i.assertionId)).size).toBe(1);
  });
});

describe('care setting as EHRs signal it (DECISIONS §3)', () => {
  const bcbs = { patient: 'pat-anna', coverages: ['Coverage/cov-bcbsma-ppo'] };
  test.each([
    ['order category v3-ActCode IMP', 'ServiceRequest/sr-dn-category-inpatient', undefined, 'B2'],
    ['order category AMB beats an inpatient encounter', 'ServiceRequest/sr-dn-category-outpatient', 'enc-anna-inpatient', 'B1'],
    ['place of service 21 Inpatient Hospital', 'ServiceRequest/sr-dn-pos-21', undefined, 'B2'],
    ['place of service 11 Office beats an inpatient encounter', 'ServiceRequest/sr-dn-pos-11', 'enc-anna-inpatient', 'B1'],
    ['the order\'s own encounter (IMP), read from the request', 'ServiceRequest/sr-dn-encounter-inpatient', 'enc-anna-inpatient', 'B2'],
    ['a short-stay (SS) encounter is unknown', 'ServiceRequest/sr-dn-20560', 'enc-anna-short-stay', 'B3'],
  ])('%s → %s', async (_name, order, encounter, row) => {
    const req = orderSignRequest({ ...bcbs, orders: [order], ...(encounter ? { encounter } : {}) });
    const { body } = await postHook(app, 'crd-order-sign', req);
    expect(body.cards[0].detail).toContain(`rule ${row}`);
  });
});

describe('payers and coverages as EHRs send them (DECISIONS §2)', () => {
  test.each([
    ['a logical payor identifier (NAIC 53228) only', 'Coverage/cov-bcbsma-identifier-only', 'pat-dana', /matched by identifier \(NAIC company code 53228 on the payor reference\)/],
    ['a contained Organization', 'Coverage/cov-bcbsma-contained', 'pat-anna', /on the contained Organization #payer/],
    ['the payor display "BCBS MA" only', 'Coverage/cov-bcbsma-display-only', 'pat-anna', /matched by name \(name "BCBS MA" on the payor reference\)/],
    ['an HMO Blue Organization with no identifier', 'Coverage/cov-bcbsma-hmo', 'pat-ben', /name "Blue Cross and Blue Shield of Massachusetts HMO Blue, Inc\."/],
  ])('BCBS MA recognised from %s', async (_name, coverage, patient, evidence) => {
    const req = orderSignRequest({ patient, coverages: [coverage], orders: ['ServiceRequest/sr-dn-category-outpatient'] });
    const { status, body } = await postHook(app, 'crd-order-sign', req);
    expect(status).toBe(200);
    expect(body.cards[0].detail).toMatch(evidence);
    expect(body.cards[0].source.label).toBe('Blue Cross Blue Shield of Massachusetts');
  });

  test('several active Coverages with served payers → one repetition per Coverage, distinct assertion ids, one card each', async () => {
    const req = orderSignRequest({ patient: 'pat-hal', coverages: ['Coverage/cov-hal-bcbsma', 'Coverage/cov-hal-medica'], orders: ['ServiceRequest/sr-dn-20560'] });
    const { body } = await postHook(app, 'crd-order-sign', req);
    const infos = coverageInfo(body);
    expect(infos.map((i) => [i.coverage, i.covered])).toEqual([
      ['Coverage/cov-hal-bcbsma', 'conditional'],
      ['Coverage/cov-hal-medica', 'not-covered'],
    ]);
    expect(infos[0]?.assertionId).not.toBe(infos[1]?.assertionId);
    expect(body.systemActions).toHaveLength(1);
    expect(body.cards.map((c: any) => c.source.label).sort()).toEqual(['Blue Cross Blue Shield of Massachusetts', 'Medica Central']);
  });

  test('a served and an unserved Coverage → only the served one is evaluated', async () => {
    const acme = fixture<any>('Coverage/cov-acme');
    const req = orderSignRequest({ patient: 'pat-eve', coverages: ['Coverage/cov-medica-commercial'], orders: ['ServiceRequest/sr-dn-20560'] });
    req.prefetch.coverage.entry.push({ resource: { ...acme, beneficiary: { reference: 'Patient/pat-eve' } } }, { resource: fixture('Organization/org-acme') });
    const { body } = await postHook(app, 'crd-order-sign', req);
    expect(coverageInfo(body).map((i) => i.coverage)).toEqual(['Coverage/cov-medica-commercial']);
  });

  test('the order\'s insurance reference picks that Coverage among the patient\'s', async () => {
    const req = orderSignRequest({ patient: 'pat-hal', coverages: ['Coverage/cov-hal-bcbsma', 'Coverage/cov-hal-medica'], orders: ['ServiceRequest/sr-dn-insurance-hal-medica'] });
    const { body } = await postHook(app, 'crd-order-sign', req);
    expect(coverageInfo(body).map((i) => i.coverage)).toEqual(['Coverage/cov-hal-medica']);
  });

  test('an active Coverage wins over an expired one: no C1 when another served Coverage is active', async () => {
    const req = orderSignRequest({ patient: 'pat-anna', coverages: ['Coverage/cov-bcbsma-ppo', 'Coverage/cov-ivy-expired'], orders: ['ServiceRequest/sr-dn-category-outpatient'] });
    const { body } = await postHook(app, 'crd-order-sign', req);
    expect(coverageInfo(body).map((i) => [i.coverage, i.covered])).toEqual([['Coverage/cov-bcbsma-ppo', 'not-covered']]);
    expect(body.cards[0].detail).toContain('rule B1');
  });

  test('Medica Central\'s first version applies to a 2024 date of service, and the card says which version', async () => {
    const req = orderSignRequest({ patient: 'pat-eve', coverages: ['Coverage/cov-medica-commercial'], orders: ['ServiceRequest/sr-dn-2024-medica-v1'] });
    req.prefetch.coverage.entry[0].resource.period = { start: '2024-01-01' };
    const { body } = await postHook(app, 'crd-order-sign', req);
    expect(body.cards[0].detail).toContain('original version effective 01/01/2024');
    const current = await postHook(app, 'crd-order-sign', orderSignRequest({ patient: 'pat-eve', coverages: ['Coverage/cov-medica-commercial'], orders: ['ServiceRequest/sr-dn-20560'] }));
    expect(current.body.cards[0].detail).toContain('version effective 09/01/2025');
  });
});

describe('missing prefetch: the service queries the EHR\'s FHIR server (loopback)', () => {
  let fhir: TestFhirServer;
  beforeAll(async () => {
    fhir = await startFhirServer({ delayMs: 20 });
  });
  afterAll(() => fhir.close());
  beforeEach(() => fhir.requests.splice(0));

  test('no prefetch at all → Coverage (payer via _include) and Encounter fetched in one parallel round with the bearer token', async () => {
    // Each answer takes 250 ms: two queries in series would take at least 500 ms.
    const slow = await startFhirServer({ delayMs: 250 });
    const req = orderSignRequest({ patient: 'pat-anna', orders: ['ServiceRequest/sr-dn-20560'], encounter: 'enc-anna-inpatient', prefetchEncounter: false, fhirServer: slow.baseUrl, accessToken: 'token-abc' });
    delete req.prefetch;
    const started = Date.now();
    const { status, body } = await postHook(app, 'crd-order-sign', req).finally(() => slow.close());
    const elapsed = Date.now() - started;
    expect(status).toBe(200);
    // pat-anna holds three BCBS MA Coverages on the server (PPO, contained payer, display-only payer): each is evaluated.
    const infos = coverageInfo(body);
    expect(infos.map((i) => i.coverage).sort()).toEqual(['Coverage/cov-bcbsma-contained', 'Coverage/cov-bcbsma-display-only', 'Coverage/cov-bcbsma-ppo']);
    expect(infos.every((i) => i.covered === 'conditional' && i.paNeeded === 'auth-needed')).toBe(true);
    expect(slow.requests.map((r) => r.url).sort()).toEqual([
      '/fhir/Coverage?patient=pat-anna&status=active&_include=Coverage%3Apayor',
      '/fhir/Encounter/enc-anna-inpatient',
    ]);
    expect(slow.requests.every((r) => r.authorization === 'Bearer token-abc')).toBe(true);
    expect(elapsed).toBeLessThan(500);
  });

  test('a prefetch key holding an OperationOutcome is queried instead', async () => {
    const req = orderSignRequest({ patient: 'pat-eve', coverages: ['Coverage/cov-medica-commercial'], orders: ['ServiceRequest/sr-dn-20560'], fhirServer: fhir.baseUrl });
    req.prefetch.coverage = { resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'processing' }] };
    const { body } = await postHook(app, 'crd-order-sign', req);
    expect(coverageInfo(body)[0]).toMatchObject({ coverage: 'Coverage/cov-medica-commercial', covered: 'not-covered' });
    expect(fhir.requests.map((r) => r.url)).toEqual(['/fhir/Coverage?patient=pat-eve&status=active&_include=Coverage%3Apayor']);
  });

  test('a payor Organization neither sent nor named by its reference is read from the FHIR server', async () => {
    const req = orderSignRequest({ patient: 'pat-anna', coverages: [], orders: ['ServiceRequest/sr-dn-category-outpatient'], fhirServer: fhir.baseUrl });
    req.prefetch.coverage = { resourceType: 'Bundle', type: 'searchset', entry: [{ resource: fixture('Coverage/cov-bcbsma-ppo') }] };
    req.prefetch.coverage.entry[0].resource.payor = [{ reference: 'Organization/org-bcbsma' }];
    const { body } = await postHook(app, 'crd-order-sign', req);
    expect(fhir.requests.map((r) => r.url)).toEqual(['/fhir/Organization/org-bcbsma']);
    expect(body.cards[0].detail).toMatch(/NAIC company code 53228 on Organization\/org-bcbsma read from the EHR's FHIR server/);
  });

  test('an order that is not dry needling costs no FHIR query', async () => {
    const req = orderSignRequest({ patient: 'pat-anna', orders: ['ServiceRequest/sr-unrelated-97110'], fhirServer: fhir.baseUrl });
    delete req.prefetch;
    const { body } = await postHook(app, 'crd-order-sign', req);
    expect(body).toEqual({ cards: [], systemActions: [] });
    expect(fhir.requests).toHaveLength(0);
  });
});

describe('the public CDS Hooks Sandbox\'s own requests (../shared/reference)', () => {
  test('the captured ServiceRequest order-sign (CT head, no Coverage, unreachable fhirServer) → 200, no guidance', async () => {
    const { status, body } = await postHook(app, 'crd-order-sign', sandboxCapture('servicerequest'));
    expect(status).toBe(200);
    expect(body).toEqual({ cards: [], systemActions: [] });
  });

  test('the captured request with its order replaced by dry needling and a BCBS MA coverage prefetched → B3 card', async () => {
    const req = sandboxCapture('servicerequest');
    const order = fixture<any>('ServiceRequest/sr-dn-20560');
    req.context.draftOrders.entry[0].resource = { ...order, subject: { reference: 'Patient/pat-1' } };
    const coverage = { ...fixture<any>('Coverage/cov-bcbsma-ppo'), beneficiary: { reference: 'Patient/pat-1' } };
    req.prefetch.coverage = { resourceType: 'Bundle', type: 'searchset', entry: [{ resource: coverage }, { resource: fixture('Organization/org-bcbsma') }] };
    const { status, body } = await postHook(app, 'crd-order-sign', req);
    expect(status).toBe(200);
    expect(coverageInfo(body)[0]).toMatchObject({ covered: 'conditional', infoNeeded: ['location'] });
  });

  test('nothing the service logged holds the access token or a patient name', () => {
    const text = JSON.stringify(logs);
    expect(logs.length).toBeGreaterThan(0);
    for (const secret of ['token-abc', 'Testpatient', 'Tina']) expect(text).not.toContain(secret);
  });
});
