import { join } from 'node:path';
import type { Appointment, CodeableConcept, ServiceRequest } from 'fhir/r4.js';
import { fixture } from '../../test/support/fixtures.js';
import { projectRoot } from '../config.js';
import { loadPolicyCatalog } from '../policy/load.js';
import { ServiceMatcher, type MatchedBy, type OrderMatch } from './order-match.js';
import { BILLING_OPTIONS_URL, orderView } from './order-view.js';

const CPT = 'http://www.ama-assn.org/go/cpt';
const SNOMED = 'http://snomed.info/sct';

const catalog = loadPolicyCatalog(join(projectRoot, 'policies'));
const matcher = new ServiceMatcher(catalog.services.get('dry-needling')!, catalog.codeSystems);

const matchFixture = (id: string): OrderMatch | undefined => matcher.match(orderView(fixture<ServiceRequest>(`ServiceRequest/${id}`)));

/** A ServiceRequest with only the given `code`. */
function order(code: CodeableConcept): ServiceRequest {
  return { resourceType: 'ServiceRequest', id: 'sr-test', status: 'draft', intent: 'order', subject: { reference: 'Patient/pat-anna' }, code };
}
const matchCode = (code: CodeableConcept) => matcher.match(orderView(order(code)));

type Row = [id: string, certainty: 'definite' | 'possible' | 'none', matchedBy: MatchedBy | undefined, billingCode: string | undefined];

describe('every ServiceRequest fixture is classified as DECISIONS §1 says', () => {
  test.each<Row>([
    ['sr-dn-20560', 'definite', 'code', '20560'],
    ['sr-dn-2023', 'definite', 'code', '20560'],
    ['sr-dn-2024-medica-v1', 'definite', 'code', '20560'],
    ['sr-dn-20560-sloppy-system', 'definite', 'code', '20560'],
    ['sr-dn-20561-oid', 'definite', 'code', '20561'],
    ['sr-dn-20561-period', 'definite', 'code', '20561'],
    ['sr-dn-category-inpatient', 'definite', 'code', '20560'],
    ['sr-dn-category-outpatient', 'definite', 'code', '20560'],
    ['sr-dn-encounter-inpatient', 'definite', 'code', '20560'],
    ['sr-dn-insurance-hal-medica', 'definite', 'code', '20560'],
    ['sr-dn-pos-11', 'definite', 'code', '20560'],
    ['sr-dn-pos-21', 'definite', 'code', '20560'],
    ['sr-dn-billing-options', 'definite', 'billing-option', '20560'],
    ['sr-20999-dn-text', 'definite', 'unlisted-code-with-description', '20999'],
    ['sr-dn-2016-text', 'definite', 'unlisted-code-with-description', '20999'],
    ['sr-20999-unlisted', 'possible', 'unlisted-code', '20999'],
    ['sr-dn-text-only', 'definite', 'description', undefined],
    ['sr-ims-text-only', 'definite', 'description', undefined],
    ['sr-electro-dn-text-only', 'definite', 'description', undefined],
    ['sr-tpi-20552', 'none', undefined, undefined],
    ['sr-tpi-text', 'none', undefined, undefined],
    ['sr-acupuncture-97810', 'none', undefined, undefined],
    ['sr-unrelated-97110', 'none', undefined, undefined],
  ])('%s: %s, matched by %s, billing code %s', (id, certainty, matchedBy, billingCode) => {
    const match = matchFixture(id);
    if (certainty === 'none') {
      expect(match).toBeUndefined();
      return;
    }
    expect(match).toMatchObject({ service: 'dry-needling', certainty, matchedBy });
    if (billingCode) expect(match?.billingCode).toMatchObject({ system: CPT, code: billingCode });
    else expect(match?.billingCode).toBeUndefined();
  });

  test('the billing code is given in the canonical CPT system even when the order used the OID', () => {
    expect(matchFixture('sr-dn-20561-oid')?.billingCode).toEqual({
      system: CPT,
      code: '20561',
      display: 'Needle insertion(s) without injection(s); 3 or more muscles',
    });
  });

  test.each([
    ['sr-dn-text-only', /functional dry needling/i],
    ['sr-ims-text-only', /intramuscular stimulation \(IMS\)/i],
    ['sr-electro-dn-text-only', /electro-dry needling/i],
    ['sr-20999-dn-text', /trigger point dry needling/i],
  ])('%s says which text named dry needling', (id, text) => {
    expect(matchFixture(id)?.description).toMatch(text);
  });
});

describe('edge cases of recognising dry needling', () => {
  test.each([
    'Dry needling',
    'dry-needling of the upper trapezius',
    'Trigger point dry needling',
    'Trigger point needling',
    'Intramuscular stimulation',
    'IMS, lumbar paraspinals',
    'Electro-dry needling',
    'Electroneedling',
    'Functional dry needling',
    'Dry needling with acupuncture needles',
  ])('text alone %j is dry needling, matched by description', (text) => {
    expect(matchCode({ text })).toMatchObject({ certainty: 'definite', matchedBy: 'description', description: text });
  });

  test.each([
    'Review of denied claims',
    'Pending claims follow-up',
    'ims follow-up',
    'Trigger point injection, left trapezius',
    'Trigger-point injections x3',
    'Acupuncture, initial 15 minutes',
    'Therapeutic exercises',
  ])('text %j is not dry needling', (text) => {
    expect(matchCode({ text })).toBeUndefined();
  });

  test('"IMS" is matched only as the upper-case abbreviation, never inside a word', () => {
    expect(matchCode({ text: 'Acclaims review' })).toBeUndefined();
    expect(matchCode({ text: 'IMS' })).toMatchObject({ matchedBy: 'description' });
  });

  test('a coding display can name dry needling too', () => {
    expect(matchCode({ coding: [{ system: 'http://example.org/local', code: 'X1', display: 'Dry needling' }] })).toMatchObject({
      certainty: 'definite',
      matchedBy: 'description',
      description: 'Dry needling',
    });
  });

  test('CPT 97110 with a dry-needling text is not dry needling: an order with another CPT code is that code', () => {
    expect(matchCode({ coding: [{ system: CPT, code: '97110' }], text: 'Dry needling' })).toBeUndefined();
  });

  test('the other CPT code counts whatever alias its system is sent with', () => {
    expect(matchCode({ coding: [{ system: 'urn:oid:2.16.840.1.113883.6.12', code: '97110' }], text: 'Dry needling' })).toBeUndefined();
  });

  test('a SNOMED-coded order with dry-needling text is matched by description (the SNOMED list ships empty)', () => {
    const match = matchCode({ coding: [{ system: SNOMED, code: '229065009', display: 'Exercise therapy' }], text: 'Dry needling, neck' });
    expect(match).toMatchObject({ certainty: 'definite', matchedBy: 'description' });
    expect(match?.billingCode).toBeUndefined();
  });

  test('a code with surrounding whitespace " 20560 " still matches and is reported trimmed', () => {
    const match = matchCode({ coding: [{ system: CPT, code: ' 20560 ' }] });
    expect(match).toMatchObject({ certainty: 'definite', matchedBy: 'code', billingCode: { system: CPT, code: '20560' } });
  });

  test('CPT 20560 needs no text at all', () => {
    expect(matchCode({ coding: [{ system: 'CPT', code: '20560' }] })).toMatchObject({ matchedBy: 'code' });
  });

  test('20560 in a non-CPT system is not CPT 20560', () => {
    expect(matchCode({ coding: [{ system: 'http://example.org/local', code: '20560' }] })).toBeUndefined();
  });

  test('an excluded code wins over a dry-needling code on the same order (trigger-point injection is never dry needling)', () => {
    expect(matchCode({ coding: [{ system: CPT, code: '20560' }, { system: CPT, code: '20553' }] })).toBeUndefined();
  });

  test.each(['97810', '97811', '97813', '97814', '20552', '20553'])('CPT %s is never dry needling, even with dry-needling text', (code) => {
    expect(matchCode({ coding: [{ system: CPT, code }], text: 'Dry needling' })).toBeUndefined();
  });

  test('a billing-options extension with 20560 on a local code is matched by billing option', () => {
    const code: CodeableConcept & { extension: unknown[] } = {
      coding: [{ system: 'http://example.org/local', code: 'PT-1', display: 'Needle therapy' }],
      extension: [{ url: BILLING_OPTIONS_URL, valueCodeableConcept: { coding: [{ system: 'urn:oid:2.16.840.1.113883.6.12', code: '20561' }] } }],
    };
    expect(matchCode(code)).toMatchObject({ certainty: 'definite', matchedBy: 'billing-option', billingCode: { system: CPT, code: '20561' } });
  });

  test('20999 with the dry-needling text only in a coding display is definite', () => {
    const match = matchCode({ coding: [{ system: CPT, code: '20999', display: 'Dry needling (unlisted)' }] });
    expect(match).toMatchObject({ certainty: 'definite', matchedBy: 'unlisted-code-with-description' });
  });

  test('20999 alone is only a possible match, still with its billing code', () => {
    expect(matchCode({ coding: [{ system: CPT, code: '20999' }] })).toMatchObject({
      certainty: 'possible',
      matchedBy: 'unlisted-code',
      billingCode: { system: CPT, code: '20999' },
    });
  });

  test('an order without code is not dry needling', () => {
    const resource: ServiceRequest = { resourceType: 'ServiceRequest', status: 'draft', intent: 'order', subject: { reference: 'Patient/x' } };
    expect(matcher.match(orderView(resource))).toBeUndefined();
  });

  test('an Appointment read alone is matched from its serviceType', () => {
    const appointment = fixture<Appointment>('Appointment/appt-dn-unreadable');
    expect(matcher.match(orderView(appointment))).toMatchObject({ matchedBy: 'code', billingCode: { code: '20560' } });
  });
});

describe('an order whose code.extension is not an array (untrusted JSON)', () => {
  test('has no billing options, and still matches by its code', () => {
    const code = { coding: [{ system: CPT, code: '20560' }], extension: '&.7a' } as unknown as CodeableConcept;
    expect(orderView(order(code)).billingOptions).toEqual([]);
    expect(matchCode(code)).toMatchObject({ certainty: 'definite', matchedBy: 'code' });
  });
});
