import { join } from 'node:path';
import type { CodeableConcept, Encounter, ServiceRequest } from 'fhir/r4.js';
import { fixture } from '../../test/support/fixtures.js';
import { projectRoot } from '../config.js';
import { loadPolicyCatalog } from '../policy/load.js';
import { careSetting } from './care-setting.js';

const ACT = 'http://terminology.hl7.org/CodeSystem/v3-ActCode';
const POS = 'https://www.cms.gov/Medicare/Coding/place-of-service-codes/Place_of_Service_Code_Set';

const catalog = loadPolicyCatalog(join(projectRoot, 'policies'));

function order(parts: { category?: CodeableConcept[]; locationCode?: CodeableConcept[] } = {}): ServiceRequest {
  return { resourceType: 'ServiceRequest', id: 'sr', status: 'draft', intent: 'order', subject: { reference: 'Patient/p' }, ...parts };
}
function encounter(code: string, system = ACT): Encounter {
  return { resourceType: 'Encounter', id: 'enc-test', status: 'in-progress', class: { system, code } };
}
const setting = (o: ServiceRequest, enc?: Encounter) => careSetting(o, enc, catalog.careSettings, catalog.codeSystems);
const category = (code: string, system = ACT) => ({ category: [{ coding: [{ system, code }] }] });
const location = (code: string, system = POS) => ({ locationCode: [{ coding: [{ system, code }] }] });

describe('1. the order category (v3-ActCode)', () => {
  test.each([
    ['IMP', 'inpatient'],
    ['ACUTE', 'inpatient'],
    ['NONAC', 'inpatient'],
    ['AMB', 'outpatient'],
    ['EMER', 'outpatient'],
    ['HH', 'outpatient'],
    ['VR', 'outpatient'],
    ['FLD', 'outpatient'],
    ['OBSENC', 'outpatient'],
  ])('category %s → %s', (code, expected) => {
    expect(setting(order(category(code)))).toEqual({ setting: expected, source: 'order.category', code });
  });

  test.each(['SS', 'PRENC'])('category %s (short stay / pre-admission) is unknown', (code) => {
    expect(setting(order(category(code)))).toEqual({ setting: 'unknown', source: 'none' });
  });

  test('the ActCode system given as an OID still works', () => {
    expect(setting(order(category('IMP', 'urn:oid:2.16.840.1.113883.5.4'))).setting).toBe('inpatient');
  });

  test('IMP in another code system is not a signal', () => {
    expect(setting(order(category('IMP', 'http://example.org/categories'))).setting).toBe('unknown');
  });

  test('fixtures: sr-dn-category-inpatient is inpatient, sr-dn-category-outpatient is outpatient', () => {
    expect(setting(fixture<ServiceRequest>('ServiceRequest/sr-dn-category-inpatient')).setting).toBe('inpatient');
    expect(setting(fixture<ServiceRequest>('ServiceRequest/sr-dn-category-outpatient')).setting).toBe('outpatient');
  });
});

describe('2. the order locationCode (CMS Place of Service)', () => {
  test.each([
    ['21', 'inpatient'],
    ['51', 'inpatient'],
    ['61', 'inpatient'],
    ['11', 'outpatient'],
    ['02', 'outpatient'],
    ['22', 'outpatient'],
    ['10', 'outpatient'],
    ['62', 'outpatient'],
  ])('POS %s → %s', (code, expected) => {
    expect(setting(order(location(code)))).toEqual({ setting: expected, source: 'order.locationCode', code });
  });

  test('POS "2" is padded to "02" (telehealth, outpatient)', () => {
    expect(setting(order(location('2')))).toEqual({ setting: 'outpatient', source: 'order.locationCode', code: '02' });
  });

  test('POS " 21 " is trimmed', () => {
    expect(setting(order(location(' 21 '))).setting).toBe('inpatient');
  });

  test.each(['POS', 'urn:oid:2.16.840.1.113883.6.50'])('the POS system written as %j still works', (system) => {
    expect(setting(order(location('21', system))).setting).toBe('inpatient');
  });

  test('an unlisted POS code (31, skilled nursing facility) answers nothing', () => {
    expect(setting(order(location('31'))).setting).toBe('unknown');
  });

  test('fixtures: sr-dn-pos-21 inpatient, sr-dn-pos-11 outpatient', () => {
    expect(setting(fixture<ServiceRequest>('ServiceRequest/sr-dn-pos-21')).setting).toBe('inpatient');
    expect(setting(fixture<ServiceRequest>('ServiceRequest/sr-dn-pos-11')).setting).toBe('outpatient');
  });
});

describe('3. the Encounter class', () => {
  test('Encounter.class IMP → inpatient, naming the Encounter', () => {
    expect(setting(order(), fixture<Encounter>('Encounter/enc-anna-inpatient'))).toEqual({
      setting: 'inpatient',
      source: 'encounter.class',
      code: 'IMP',
      encounter: 'Encounter/enc-anna-inpatient',
    });
  });

  test('Encounter.class AMB → outpatient', () => {
    expect(setting(order(), fixture<Encounter>('Encounter/enc-anna-ambulatory'))).toMatchObject({
      setting: 'outpatient',
      source: 'encounter.class',
      encounter: 'Encounter/enc-anna-ambulatory',
    });
  });

  test('Encounter.class SS (short stay) is unknown', () => {
    expect(setting(order(), fixture<Encounter>('Encounter/enc-anna-short-stay'))).toEqual({ setting: 'unknown', source: 'none' });
  });

  test('Encounter.class PRENC (pre-admission) is unknown', () => {
    expect(setting(order(), encounter('PRENC')).setting).toBe('unknown');
  });

  test('the ActCode system given as an OID still works on the Encounter', () => {
    expect(setting(order(), encounter('IMP', 'urn:oid:2.16.840.1.113883.5.4')).setting).toBe('inpatient');
  });
});

describe('precedence: the first signal that answers wins', () => {
  test('category beats locationCode', () => {
    expect(setting(order({ ...category('AMB'), ...location('21') }))).toMatchObject({ setting: 'outpatient', source: 'order.category' });
    expect(setting(order({ ...category('IMP'), ...location('11') }))).toMatchObject({ setting: 'inpatient', source: 'order.category' });
  });

  test('locationCode beats the Encounter', () => {
    expect(setting(order(location('11')), encounter('IMP'))).toMatchObject({ setting: 'outpatient', source: 'order.locationCode' });
  });

  test('category beats the Encounter', () => {
    expect(setting(order(category('IMP')), encounter('AMB'))).toMatchObject({ setting: 'inpatient', source: 'order.category' });
  });

  test('a category that answers nothing (SS) lets the next signal answer', () => {
    expect(setting(order({ ...category('SS'), ...location('21') }))).toMatchObject({ setting: 'inpatient', source: 'order.locationCode' });
    expect(setting(order(category('PRENC')), encounter('AMB'))).toMatchObject({ setting: 'outpatient', source: 'encounter.class' });
  });

  test('a Location typed as a hospital does not make an order inpatient', () => {
    const o = order({ locationCode: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-RoleCode', code: 'HOSP', display: 'Hospital' }] }] });
    o.locationReference = [{ reference: 'Location/general-hospital', display: 'General Hospital' }];
    expect(setting(o)).toEqual({ setting: 'unknown', source: 'none' });
  });

  test('no signals → unknown with source "none"', () => {
    expect(setting(order())).toEqual({ setting: 'unknown', source: 'none' });
  });

  test('malformed category and locationCode are ignored, not thrown on', () => {
    const o = { ...order(), category: { coding: [{ system: ACT, code: 'IMP' }] }, locationCode: 'x' } as unknown as ServiceRequest;
    expect(setting(o)).toEqual({ setting: 'unknown', source: 'none' });
  });
});
