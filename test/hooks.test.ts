/**
 * The four CRD hooks, discovery, CORS and client configuration (DECISIONS §7, CRD §Configuration).
 */
import request from 'supertest';
import { fixture } from './support/fixtures.js';
import { startFhirServer, type TestFhirServer } from './support/fhir-server.js';
import { authHeader, coverageInfo, example, orderSignRequest, postHook, testApp } from './support/hook-client.js';

const { app } = testApp();

describe('discovery (CDS Hooks 2.0 §Discovery, CRD §Configuration options)', () => {
  test('GET /cds-services lists one service per CRD hook with title, description and root-level prefetch tokens', async () => {
    const res = await request(app).get('/cds-services').set(await authHeader(app, '/cds-services')).expect(200);
    const services = res.body.services as any[];
    expect(services.map((s) => [s.id, s.hook])).toEqual([
      ['crd-order-sign', 'order-sign'],
      ['crd-order-select', 'order-select'],
      ['crd-order-dispatch', 'order-dispatch'],
      ['crd-appointment-book', 'appointment-book'],
    ]);
    for (const s of services) {
      expect(typeof s.title).toBe('string');
      expect(s.description.length).toBeGreaterThan(10);
      expect(s.prefetch.coverage).toBe('Coverage?patient={{context.patientId}}&status=active&_include=Coverage:payor');
      for (const template of Object.values<string>(s.prefetch)) {
        // CDS Hooks 2.0 §Prefetch tokens: only root-level, primitive context fields.
        for (const token of template.match(/\{\{[^}]+\}\}/g) ?? []) expect(token).toMatch(/^\{\{context\.(patientId|encounterId|userId)\}\}$/);
      }
      expect(s.extension['davinci-crd.configuration-options']).toEqual(
        expect.arrayContaining([
          expect.objectContaining({ code: 'coverage-info', type: 'boolean', default: true }),
          expect.objectContaining({ code: 'max-cards', type: 'integer', default: 10 }),
        ]),
      );
      expect(s.extension['davinci-crd.version']).toEqual(['2.2']);
    }
    expect(services.find((s) => s.hook === 'order-dispatch').prefetch.encounter).toBeUndefined();
    // Described from the policy data: a new payer or policy shows up without a code change.
    expect(services[0].usageRequirements).toBe('Payers served: Blue Cross Blue Shield of Massachusetts, Medica Central. Evaluates ServiceRequests for dry needling.');
    expect(services[0].description).toContain('Medica Central MP9672 "Trigger Point Dry Needling"');
  });

  test('CORS lets a browser client (the CDS Hooks Sandbox) call discovery and services, preflights included, without credentials', async () => {
    const preflight = await request(app)
      .options('/cds-services/crd-order-sign')
      .set('Origin', 'https://sandbox.cds-hooks.org')
      .set('Access-Control-Request-Method', 'POST')
      .set('Access-Control-Request-Headers', 'authorization,content-type');
    expect(preflight.status).toBe(204);
    expect(preflight.headers['access-control-allow-origin']).toBe('*');
    expect(preflight.headers['access-control-allow-methods']).toContain('POST');
    expect(preflight.headers['access-control-allow-headers']).toMatch(/Authorization/i);
    expect(preflight.headers['access-control-allow-credentials']).toBeUndefined();
    const discovery = await request(app).get('/cds-services').set('Origin', 'https://sandbox.cds-hooks.org').set(await authHeader(app, '/cds-services'));
    expect(discovery.headers['access-control-allow-origin']).toBe('*');
    const preflightDiscovery = await request(app).options('/cds-services').set('Origin', 'https://sandbox.cds-hooks.org').set('Access-Control-Request-Method', 'GET');
    expect(preflightDiscovery.status).toBe(204);
  });
});

describe('order-select: only the selections are evaluated', () => {
  test('B1 for the selected dry-needling order; the other draft is context only', async () => {
    const { body } = await postHook(app, 'crd-order-select', example('order-select-B1-bcbsma-outpatient.json'));
    expect(coverageInfo(body).map((i) => [i.order, i.covered])).toEqual([['ServiceRequest/sr-dn-20560', 'not-covered']]);
  });

  test('a dry-needling draft that is not selected is not evaluated; no systemActions key is needed', async () => {
    const req = orderSignRequest({ patient: 'pat-anna', coverages: ['Coverage/cov-bcbsma-ppo'], orders: ['ServiceRequest/sr-dn-20560', 'ServiceRequest/sr-unrelated-97110'], hook: 'order-select', selections: ['ServiceRequest/sr-unrelated-97110'] });
    const { body } = await postHook(app, 'crd-order-select', req);
    expect(body).toEqual({ cards: [] });
  });

  test('selections given as bare ids (a known client quirk) still select', async () => {
    const req = orderSignRequest({ patient: 'pat-anna', coverages: ['Coverage/cov-bcbsma-ppo'], encounter: 'enc-anna-ambulatory', orders: ['ServiceRequest/sr-dn-20560'], hook: 'order-select', selections: ['sr-dn-20560'] });
    const { body } = await postHook(app, 'crd-order-select', req);
    expect(coverageInfo(body)).toHaveLength(1);
  });

  test('order-select without selections → 400', async () => {
    const req = example('order-select-B1-bcbsma-outpatient.json');
    delete req.context.selections;
    expect((await postHook(app, 'crd-order-select', req)).status).toBe(400);
  });
});

describe('order-dispatch: the dispatched orders, from prefetch or the FHIR server', () => {
  let fhir: TestFhirServer;
  beforeAll(async () => {
    fhir = await startFhirServer();
  });
  afterAll(() => fhir.close());

  test('M1 with the dispatched order in the prefetch', async () => {
    const { body } = await postHook(app, 'crd-order-dispatch', example('order-dispatch-M1-medica-commercial.json'));
    expect(coverageInfo(body).map((i) => [i.order, i.covered])).toEqual([['ServiceRequest/sr-dn-20560', 'not-covered']]);
    expect(body.cards[0].detail).toContain('rule M1');
  });

  test('M1 with the dispatched order read from the FHIR server', async () => {
    const req = example('order-dispatch-M1-medica-commercial.json');
    delete req.prefetch.dispatchedOrders;
    req.fhirServer = fhir.baseUrl;
    const { body } = await postHook(app, 'crd-order-dispatch', req);
    expect(coverageInfo(body)).toHaveLength(1);
    expect(fhir.requests.map((r) => r.url)).toContain('/fhir/ServiceRequest/sr-dn-20560');
  });

  test('the older hyphenated context keys (dispatched-orders, fulfillment-tasks) are tolerated', async () => {
    const req = example('order-dispatch-M1-medica-commercial.json');
    req.context['dispatched-orders'] = req.context.dispatchedOrders;
    req.context['fulfillment-tasks'] = [{ resourceType: 'Task', status: 'requested', intent: 'order' }];
    delete req.context.dispatchedOrders;
    const { body } = await postHook(app, 'crd-order-dispatch', req);
    expect(coverageInfo(body)).toHaveLength(1);
  });

  test('dispatched orders neither prefetched nor readable → 412', async () => {
    const req = example('order-dispatch-M1-medica-commercial.json');
    delete req.prefetch.dispatchedOrders;
    delete req.fhirServer;
    delete req.fhirAuthorization;
    const { status } = await postHook(app, 'crd-order-dispatch', req);
    expect(status).toBe(412);
  });

  test('order-dispatch without any dispatched order → 400', async () => {
    const req = example('order-dispatch-M1-medica-commercial.json');
    delete req.context.dispatchedOrders;
    expect((await postHook(app, 'crd-order-dispatch', req)).status).toBe(400);
  });
});

describe('appointment-book: coverage information on the ServiceRequest the Appointment is based on', () => {
  let fhir: TestFhirServer;
  beforeAll(async () => {
    fhir = await startFhirServer();
  });
  afterAll(() => fhir.close());

  test('B2 on the ServiceRequest from the prefetch', async () => {
    const { body } = await postHook(app, 'crd-appointment-book', example('appointment-book-B2-bcbsma-inpatient.json'));
    expect(coverageInfo(body).map((i) => [i.order, i.covered, i.paNeeded])).toEqual([['ServiceRequest/sr-dn-20560', 'conditional', 'auth-needed']]);
  });

  test('the ServiceRequest read from the FHIR server; date of service from the order', async () => {
    const req = example('appointment-book-B2-bcbsma-inpatient.json');
    delete req.prefetch.appointmentOrders;
    req.fhirServer = fhir.baseUrl;
    const { body } = await postHook(app, 'crd-appointment-book', req);
    expect(coverageInfo(body)[0]?.order).toBe('ServiceRequest/sr-dn-20560');
    expect(fhir.requests.map((r) => r.url)).toContain('/fhir/ServiceRequest/sr-dn-20560');
  });

  test('the ServiceRequest cannot be read → coverage information on the Appointment, dated by its start', async () => {
    const req = example('appointment-book-B2-bcbsma-inpatient.json');
    req.context.appointments.entry[0].resource = { ...fixture<any>('Appointment/appt-dn-unreadable') };
    req.fhirServer = fhir.baseUrl;
    const { status, body } = await postHook(app, 'crd-appointment-book', req);
    expect(status).toBe(200);
    expect(coverageInfo(body).map((i) => [i.order, i.covered])).toEqual([['Appointment/appt-dn-unreadable', 'conditional']]);
    expect(body.cards[0].detail).toMatch(/date of service 2026-12-02 \(from the Appointment's start\)/);
  });
});

describe('client configuration (CRD davinci-crd.configuration)', () => {
  const b1 = () => example('order-sign-B1-bcbsma-outpatient.json');

  test('"coverage-info": false → no coverage-info cards and no coverage-information systemActions', async () => {
    const req = b1();
    req.extension = { 'davinci-crd.configuration': { 'coverage-info': false } };
    const { body } = await postHook(app, 'crd-order-sign', req);
    expect(body).toEqual({ cards: [], systemActions: [] });
  });

  test('"max-cards": n → at most n cards, the most urgent kept', async () => {
    const req = orderSignRequest({ patient: 'pat-hal', coverages: ['Coverage/cov-hal-bcbsma', 'Coverage/cov-hal-medica'], orders: ['ServiceRequest/sr-dn-20560', 'ServiceRequest/sr-20999-unlisted'] });
    const all = await postHook(app, 'crd-order-sign', req);
    expect(all.body.cards.length).toBe(3);
    req.extension = { 'davinci-crd.configuration': { 'max-cards': 1 } };
    const { body } = await postHook(app, 'crd-order-sign', req);
    expect(body.cards).toHaveLength(1);
    expect(body.cards[0].indicator).toBe('warning');
    expect(coverageInfo(body)).toHaveLength(3);
    req.extension = { 'davinci-crd.configuration': { 'max-cards': 0 } };
    expect((await postHook(app, 'crd-order-sign', req)).body.cards).toEqual([]);
  });

  test('unknown options and options of the wrong type are ignored', async () => {
    const req = b1();
    req.extension = { 'davinci-crd.configuration': { 'alt-drug': true, 'max-cards': 'five', 'coverage-info': 'no', 'unsolicited-determ': false } };
    const { body } = await postHook(app, 'crd-order-sign', req);
    expect(body.cards).toHaveLength(1);
    expect(coverageInfo(body)).toHaveLength(1);
  });

  test('requestedVersion 2.2 → CRD 2.2 card topic system and associated-resource references', async () => {
    const req = b1();
    req.extension = { 'davinci-crd.requestedVersion': '2.2' };
    const { body } = await postHook(app, 'crd-order-sign', req);
    expect(body.cards[0].source.topic.system).toBe('http://terminology.hl7.org/CodeSystem/cdshooks-card-type');
    expect(body.cards[0].extension['davinci-crd.associated-resource']).toEqual([{ reference: 'ServiceRequest/sr-dn-20560' }]);
  });
});

describe('systemActions carry the whole order with only coverage information added', () => {
  test('a re-signed order keeps its other extensions and gets its old coverage information for this Coverage replaced', async () => {
    const req = example('order-sign-B1-bcbsma-outpatient.json');
    const order = req.context.draftOrders.entry[0].resource;
    order.extension = [
      { url: 'http://example.org/fhir/StructureDefinition/local-flag', valueBoolean: true },
      { url: 'http://hl7.org/fhir/us/davinci-crd/StructureDefinition/ext-coverage-information', extension: [
        { url: 'coverage', valueReference: { reference: 'Coverage/cov-bcbsma-ppo' } }, { url: 'covered', valueCode: 'covered' }, { url: 'pa-needed', valueCode: 'no-auth' },
        { url: 'date', valueDate: '2026-01-01' }, { url: 'coverage-assertion-id', valueString: 'old' } ] },
    ];
    const { body } = await postHook(app, 'crd-order-sign', req);
    const updated = body.systemActions[0].resource;
    expect(updated.extension).toHaveLength(2);
    expect(updated.extension[0].url).toBe('http://example.org/fhir/StructureDefinition/local-flag');
    expect(coverageInfo(body)).toEqual([expect.objectContaining({ covered: 'not-covered' })]);
    expect(body.systemActions[0].description).toMatch(/ServiceRequest\/sr-dn-20560/);
  });
});

describe('suggestions where they help', () => {
  test('B3 (setting unknown) suggests recording the care setting; applying "outpatient" and signing again gives B1, "inpatient" gives B2', async () => {
    const first = await postHook(app, 'crd-order-sign', example('order-sign-B3-bcbsma-setting-unknown.json'));
    const [card] = first.body.cards;
    expect(card.selectionBehavior).toBe('at-most-one');
    expect(card.suggestions.map((s: any) => s.label)).toEqual(['Record as outpatient (ambulatory)', 'Record as inpatient']);
    for (const [index, row] of [[0, 'B1'], [1, 'B2']] as const) {
      const action = card.suggestions[index].actions[0];
      expect(action).toMatchObject({ type: 'update', description: expect.stringMatching(/ServiceRequest\/sr-dn-20560/) });
      const again = example('order-sign-B3-bcbsma-setting-unknown.json');
      again.context.draftOrders.entry[0].resource = action.resource;
      const second = await postHook(app, 'crd-order-sign', again);
      expect(second.body.cards[0].detail).toContain(`rule ${row}`);
      expect(second.body.cards[0].suggestions).toBeUndefined();
    }
  });

  test('cards that are already definite carry no suggestions', async () => {
    for (const file of ['order-sign-M1-medica-commercial.json', 'order-sign-B1-bcbsma-outpatient.json', 'order-sign-B2-bcbsma-inpatient.json']) {
      const { body } = await postHook(app, 'crd-order-sign', example(file));
      expect(body.cards[0].suggestions).toBeUndefined();
      expect(body.cards[0].selectionBehavior).toBeUndefined();
    }
  });
});
