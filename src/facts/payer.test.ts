import { join } from 'node:path';
import type { Coverage, Organization, Reference } from 'fhir/r4.js';
import { fixture } from '../../test/support/fixtures.js';
import { projectRoot } from '../config.js';
import { DecisionEngine } from '../hooks/engine.js';
import { loadPolicyCatalog } from '../policy/load.js';
import { normaliseName, type PayerRegistry, type ResolvedOrganization } from './payer.js';

const NAIC = 'urn:oid:2.16.840.1.113883.6.300';

const engine = new DecisionEngine(loadPolicyCatalog(join(projectRoot, 'policies')));
const payers: PayerRegistry = engine.payers;

/** Resolves `#id` from the Coverage's contained resources and `Organization/id` from the fixtures (as if prefetched). */
function resolverFor(coverage: Coverage, source: 'request' | 'fhir-server' = 'request') {
  return (ref: Reference): ResolvedOrganization | undefined => {
    const r = ref.reference;
    if (!r) return undefined;
    if (r.startsWith('#')) {
      const found = (coverage.contained ?? []).find((c) => c.resourceType === 'Organization' && c.id === r.slice(1));
      return found ? { resource: found as Organization, source: 'contained', reference: r } : undefined;
    }
    try {
      return { resource: fixture<Organization>(r), source, reference: r };
    } catch {
      return undefined;
    }
  };
}
const noOrganizations = () => undefined;

function coverageWith(payor: Reference[]): Coverage {
  return { resourceType: 'Coverage', id: 'cov-test', status: 'active', beneficiary: { reference: 'Patient/pat-anna' }, payor };
}
const identify = (coverage: Coverage, resolve: (ref: Reference) => ResolvedOrganization | undefined = resolverFor(coverage)) =>
  payers.identify(coverage, resolve);

describe('normaliseName: compared without case, punctuation or the word "and"', () => {
  test.each([
    ['Blue Cross and Blue Shield of Massachusetts, Inc.', 'blue cross blue shield of massachusetts inc'],
    ['Blue Cross & Blue Shield of Massachusetts', 'blue cross blue shield of massachusetts'],
    ['  BCBS   MA ', 'bcbs ma'],
    ['B.C.B.S.-M.A.', 'b c b s m a'],
    ['AND and And', ''],
    ['Andover Health', 'andover health'],
    ['Medica Central Health Plan, Inc.', 'medica central health plan inc'],
  ])('%j → %j', (name, normalised) => {
    expect(normaliseName(name)).toBe(normalised);
  });
});

describe('PayerRegistry.identify: identifier first', () => {
  test('NAIC 53228 on the payor reference is BCBS MA (nothing else needed)', () => {
    const match = identify(fixture<Coverage>('Coverage/cov-bcbsma-identifier-only'), noOrganizations);
    expect(match).toMatchObject({ payer: { id: 'bcbsma' }, matchedBy: 'identifier' });
    expect(match?.evidence).toMatch(/53228 on the payor reference/);
  });

  test('the NAIC system may be written as an alias and the value padded', () => {
    const coverage = coverageWith([{ identifier: { system: 'NAIC', value: ' 53228 ' } }]);
    expect(identify(coverage, noOrganizations)).toMatchObject({ payer: { id: 'bcbsma' }, matchedBy: 'identifier' });
  });

  test('NAIC 53228 under another system is not BCBS MA', () => {
    const coverage = coverageWith([{ identifier: { system: 'http://example.org/payer-ids', value: '53228' } }]);
    expect(identify(coverage, noOrganizations)).toBeUndefined();
  });

  test('NAIC 53228 on a contained Organization (source contained)', () => {
    const match = identify(fixture<Coverage>('Coverage/cov-bcbsma-contained'));
    expect(match).toMatchObject({ payer: { id: 'bcbsma' }, matchedBy: 'identifier' });
    expect(match?.evidence).toMatch(/the contained Organization #payer/);
  });

  test('NAIC 53228 on a resolved Organization', () => {
    const coverage = fixture<Coverage>('Coverage/cov-bcbsma-ppo');
    const match = identify(coverage);
    expect(match).toMatchObject({ payer: { id: 'bcbsma' }, matchedBy: 'identifier' });
    expect(match?.evidence).toMatch(/Organization\/org-bcbsma/);
  });

  test('an Organization read from the FHIR server says so', () => {
    const coverage = fixture<Coverage>('Coverage/cov-bcbsma-ppo');
    expect(identify(coverage, resolverFor(coverage, 'fhir-server'))?.evidence).toMatch(/read from the EHR's FHIR server/);
  });

  test('identifier beats name when both are present and disagree', () => {
    const coverage = coverageWith([{ identifier: { system: NAIC, value: '53228' }, display: 'Medica Central' }]);
    expect(identify(coverage, noOrganizations)).toMatchObject({ payer: { id: 'bcbsma' }, matchedBy: 'identifier' });
  });

  test("identifier on the Organization beats the Organization's own (other) name", () => {
    const org: Organization = { resourceType: 'Organization', id: 'o', name: 'Medica Central', identifier: [{ system: NAIC, value: '53228' }] };
    const coverage = coverageWith([{ reference: 'Organization/o' }]);
    expect(identify(coverage, () => ({ resource: org, source: 'request', reference: 'Organization/o' }))).toMatchObject({
      payer: { id: 'bcbsma' },
      matchedBy: 'identifier',
    });
  });

  test('an identifier on a second payor beats a name on the first', () => {
    const coverage = coverageWith([{ display: 'Medica Central' }, { identifier: { system: NAIC, value: '53228' } }]);
    expect(identify(coverage, noOrganizations)).toMatchObject({ payer: { id: 'bcbsma' }, matchedBy: 'identifier' });
  });
});

describe('PayerRegistry.identify: then name aliases', () => {
  test.each([
    ['Blue Cross and Blue Shield of Massachusetts, Inc.', 'bcbsma'],
    ['Blue Cross Blue Shield of Massachusetts', 'bcbsma'],
    ['BLUE CROSS & BLUE SHIELD OF MASSACHUSETTS INC', 'bcbsma'],
    ['BCBSMA', 'bcbsma'],
    ['bcbs ma', 'bcbsma'],
    ['BCBS-MA', 'bcbsma'],
    ['Blue Cross and Blue Shield of Massachusetts HMO Blue', 'bcbsma'],
    ['Medica Central', 'medica-central'],
    ['Medica Central Health Plan', 'medica-central'],
    ['medica central health plan, inc.', 'medica-central'],
  ])('display %j is %s', (display, id) => {
    expect(identify(coverageWith([{ display }]), noOrganizations)).toMatchObject({ payer: { id }, matchedBy: 'name' });
  });

  test.each(['Medica', 'MEDICA', 'Medica Choice Passport', 'Blue Cross', 'Blue Cross Blue Shield', 'Acme Health Plan'])(
    'display %j is no payer served here',
    (display) => {
      expect(identify(coverageWith([{ display }]), noOrganizations)).toBeUndefined();
    },
  );

  test('a bare "Medica" Organization is NOT Medica Central', () => {
    expect(identify(fixture<Coverage>('Coverage/cov-medica-bare'))).toBeUndefined();
  });

  test('the display alone names BCBS MA (cov-bcbsma-display-only)', () => {
    const match = identify(fixture<Coverage>('Coverage/cov-bcbsma-display-only'), noOrganizations);
    expect(match).toMatchObject({ payer: { id: 'bcbsma' }, matchedBy: 'name' });
    expect(match?.evidence).toBe('name "BCBS MA" on the payor reference');
  });

  test('the resolved Organization name "Medica Central Health Plan" is Medica Central', () => {
    const match = identify(fixture<Coverage>('Coverage/cov-medica-commercial'));
    expect(match).toMatchObject({ payer: { id: 'medica-central' }, matchedBy: 'name' });
    expect(match?.evidence).toMatch(/Organization\/org-medica-central/);
  });

  test('BCBS MA HMO Blue (no identifier on its Organization) is BCBS MA by name', () => {
    expect(identify(fixture<Coverage>('Coverage/cov-bcbsma-hmo'))).toMatchObject({ payer: { id: 'bcbsma' }, matchedBy: 'name' });
  });

  test('an Organization alias is a name too', () => {
    const org: Organization = { resourceType: 'Organization', id: 'o', name: 'Unknown Holding Co', alias: ['BCBSMA'] };
    expect(identify(coverageWith([{ reference: 'Organization/o' }]), () => ({ resource: org, source: 'request', reference: 'Organization/o' })))
      .toMatchObject({ payer: { id: 'bcbsma' }, matchedBy: 'name' });
  });

  test('Medica Central Medicaid named only by display', () => {
    expect(identify(fixture<Coverage>('Coverage/cov-medica-medicaid'), noOrganizations)).toMatchObject({ payer: { id: 'medica-central' } });
  });
});

describe('PayerRegistry.identify: unknown payers', () => {
  test('Acme (NAIC 99999, "Acme Health Plan") is undefined', () => {
    expect(identify(fixture<Coverage>('Coverage/cov-acme'))).toBeUndefined();
  });

  test('a Coverage without payor is undefined', () => {
    expect(identify(coverageWith([]), noOrganizations)).toBeUndefined();
  });

  test('an Organization that cannot be resolved falls back to the display', () => {
    const coverage = fixture<Coverage>('Coverage/cov-bcbsma-ppo');
    expect(identify(coverage, noOrganizations)).toMatchObject({ payer: { id: 'bcbsma' }, matchedBy: 'name' });
  });
});

describe('PayerRegistry.knownFromReference', () => {
  test.each<[Reference, boolean]>([
    [{ identifier: { system: NAIC, value: '53228' } }, true],
    [{ display: 'bcbs ma' }, true],
    [{ reference: 'Organization/org-bcbsma' }, false],
    [{ display: 'Medica' }, false],
  ])('%j → %s', (ref, known) => {
    expect(payers.knownFromReference(ref)).toBe(known);
  });
});
