import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { projectRoot } from '../config.js';
import { loadPolicyCatalog } from '../policy/load.js';
import { applyCareSetting } from './care-setting-choice.js';
import { describeRequest } from './describe.js';
import { ScenarioBook, ScenarioNotFound, type CdsHooksRequestJson } from './scenarios.js';

const book = ScenarioBook.load();
const catalog = loadPolicyCatalog(join(projectRoot, 'policies'));
const careSettings = catalog.careSettings;
const manifest = JSON.parse(readFileSync(join(projectRoot, 'cds-hooks', 'examples.json'), 'utf8')) as Array<{ file: string; row: string }>;

type Loose = Record<string, any>;
const draftOrder = (request: CdsHooksRequestJson): Loose => (request.context.draftOrders as Loose).entry[0].resource;

describe('ScenarioBook', () => {
  test('one scenario per example of cds-hooks/examples.json, named by its file, with its row', () => {
    expect(book.list().map((s) => s.name)).toEqual(manifest.map((m) => m.file.replace(/\.json$/, '')));
    const rows = new Set(book.list().map((s) => s.row));
    for (const row of ['M1', 'M2', 'M3', 'B1', 'B2', 'B3', 'B4', 'D1', 'C1', 'X1', 'multiple', 'error']) expect(rows).toContain(row);
    // D1 for each payer.
    expect(book.list().filter((s) => s.row === 'D1').map((s) => s.name)).toEqual([
      'order-sign-D1-before-policy-effective',
      'order-sign-D1-bcbsma-before-policy-effective',
    ]);
  });

  test('find: the exact name, else a unique part of it, else the one order-sign scenario among the matches', () => {
    expect(book.find('order-select-B1-bcbsma-outpatient').name).toBe('order-select-B1-bcbsma-outpatient');
    expect(book.find('b3').name).toBe('order-sign-B3-bcbsma-setting-unknown');
    expect(book.find('B2').name).toBe('order-sign-B2-bcbsma-inpatient');
    expect(book.find('appointment').name).toBe('appointment-book-B2-bcbsma-inpatient');
    expect(() => book.find('error-400')).toThrow(ScenarioNotFound);
    expect(() => book.find('error-400')).toThrow(/several scenarios: error-400-no-coverage, error-400-payer-not-served/);
    expect(() => book.find('Z9')).toThrow(/No scenario "Z9"/);
  });

  test('request: a deep copy of the example with a fresh hookInstance each time', () => {
    const example = JSON.parse(readFileSync(join(projectRoot, 'cds-hooks', 'order-sign-B2-bcbsma-inpatient.json'), 'utf8'));
    const a = book.request('order-sign-B2-bcbsma-inpatient', {}, careSettings);
    const b = book.request('order-sign-B2-bcbsma-inpatient', { careSetting: 'as-recorded' }, careSettings);
    expect(a.hookInstance).toMatch(/^[0-9a-f-]{36}$/);
    expect(a.hookInstance).not.toBe(b.hookInstance);
    expect(a.hookInstance).not.toBe(example.hookInstance);
    expect({ ...a, hookInstance: 'x' }).toEqual({ ...example, hookInstance: 'x' });
    draftOrder(a).status = 'changed';
    expect(draftOrder(book.request('order-sign-B2-bcbsma-inpatient', {}, careSettings)).status).toBe('draft');
  });
});

describe('care setting choice (DECISIONS §3 signals, recorded as an EHR would)', () => {
  test('inpatient / outpatient: the order carries v3-ActCode IMP / AMB as its category; other order-level signals go', () => {
    const inpatient = book.request('order-sign-B1-bcbsma-outpatient', { careSetting: 'inpatient' }, careSettings);
    expect(draftOrder(inpatient).category).toEqual([{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'IMP' }] }]);
    const outpatient = book.request('order-sign-B2-bcbsma-inpatient', { careSetting: 'outpatient' }, careSettings);
    expect(draftOrder(outpatient).category).toEqual([{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'AMB' }] }]);
    // The Encounter stays: the order's category is the signal that wins.
    expect(outpatient.prefetch?.encounter).toBeDefined();
  });

  test('unknown: no category or place of service on any ServiceRequest, and no Encounter anywhere', () => {
    const request = book.request('appointment-book-B2-bcbsma-inpatient', { careSetting: 'unknown' }, careSettings);
    expect(request.context.encounterId).toBeUndefined();
    expect(request.prefetch?.encounter).toBeUndefined();
    const order = (request.prefetch!.appointmentOrders as Loose).entry[0].resource;
    expect(order.category).toBeUndefined();
    expect(order.locationCode).toBeUndefined();
    expect(order.encounter).toBeUndefined();
  });

  test('codings of other systems and texts are kept; emptied concepts and arrays are dropped (FHIR JSON has no empty arrays)', () => {
    const request = book.request('order-sign-B2-bcbsma-inpatient', {}, careSettings);
    const order = draftOrder(request);
    order.category = [
      { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'AMB' }, { system: 'http://snomed.info/sct', code: '409063005' }] },
      { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'EMER' }], text: 'Emergency' },
      { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'IMP' }] },
    ];
    order.locationCode = [{ coding: [{ system: 'https://www.cms.gov/Medicare/Coding/place-of-service-codes/Place_of_Service_Code_Set', code: '21' }] }];
    applyCareSetting(request, 'unknown', careSettings);
    expect(order.category).toEqual([{ coding: [{ system: 'http://snomed.info/sct', code: '409063005' }] }, { text: 'Emergency' }]);
    expect(order.locationCode).toBeUndefined();
  });
});

describe('describeRequest: what the picker shows', () => {
  test('B2: patient, coverage with payer and plan, order with codes and date, care setting from the Encounter', () => {
    const picture = describeRequest(book.request('order-sign-B2-bcbsma-inpatient', {}, careSettings), catalog);
    expect(picture).toEqual({
      patient: { reference: 'Patient/pat-anna', name: 'Anna Marie Kowalczyk', birthDate: '1981-04-17' },
      coverages: [
        {
          reference: 'Coverage/cov-bcbsma-ppo',
          payer: 'Blue Cross and Blue Shield of Massachusetts, Inc.',
          plan: 'PPO Blue',
          status: 'active',
          period: '2026-01-01 to 2026-12-31',
        },
      ],
      orders: [
        {
          reference: 'ServiceRequest/sr-dn-20560',
          text: 'Dry needling, 1-2 muscles',
          codes: ['20560'],
          date: '2026-12-01',
          careSetting: 'inpatient (Encounter/enc-anna-inpatient class IMP)',
        },
      ],
    });
  });

  test('a chosen care setting shows as the order category; no coverage prefetched shows none', () => {
    const b3 = describeRequest(book.request('order-sign-B3-bcbsma-setting-unknown', { careSetting: 'outpatient' }, careSettings), catalog);
    expect(b3.orders[0]?.careSetting).toBe('outpatient (order category AMB)');
    const unreachable = describeRequest(book.request('error-412-coverage-unreachable', {}, careSettings), catalog);
    expect(unreachable.coverages).toEqual([]);
    const appointment = describeRequest(book.request('appointment-book-B2-bcbsma-inpatient', {}, careSettings), catalog);
    expect(appointment.orders.map((o) => o.reference)).toEqual(['Appointment/appt-dn-anna', 'ServiceRequest/sr-dn-20560']);
  });
});
