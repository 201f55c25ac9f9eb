import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Coverage, Organization, Reference, ServiceRequest } from 'fhir/r4.js';
import { fixture } from '../../test/support/fixtures.js';
import { projectRoot } from '../config.js';
import type { CareSettingFact } from '../facts/care-setting.js';
import { ServiceMatcher, type OrderMatch } from '../facts/order-match.js';
import { orderView } from '../facts/order-view.js';
import { classifyProductLine } from '../facts/product-line.js';
import { DecisionEngine } from '../hooks/engine.js';
import { decide, isDetermination, versionOn, type Decision, type DecisionFacts, type Determination } from './decide.js';
import { loadPolicyCatalog } from './load.js';
import type { CareSetting, CoveragePolicyDoc, PayersDoc, ProductLine } from './types.js';

const catalog = loadPolicyCatalog(join(projectRoot, 'policies'));
const MEDICA = catalog.policiesFor('medica-central');
const BCBS = catalog.policiesFor('bcbsma');

const DEFINITE: OrderMatch = { service: 'dry-needling', certainty: 'definite', matchedBy: 'code', billingCode: { system: 'http://www.ama-assn.org/go/cpt', code: '20560' } };
const POSSIBLE: OrderMatch = { service: 'dry-needling', certainty: 'possible', matchedBy: 'unlisted-code', billingCode: { system: 'http://www.ama-assn.org/go/cpt', code: '20999' } };

function facts(over: {
  match?: OrderMatch;
  date?: string;
  active?: boolean;
  productLine?: ProductLine | 'unknown';
  setting?: CareSetting;
} = {}): DecisionFacts {
  const setting = over.setting ?? 'unknown';
  const careSetting: CareSettingFact = setting === 'unknown' ? { setting, source: 'none' } : { setting, source: 'order.category' };
  return {
    match: over.match ?? DEFINITE,
    dateOfService: { date: over.date ?? '2026-12-01', source: 'occurrenceDateTime' },
    coverageActive: over.active ?? true,
    productLine: { productLine: over.productLine ?? 'commercial', evidence: 'test' },
    careSetting,
  };
}
/** The one determination the policies give for these facts. */
function only(policies: readonly CoveragePolicyDoc[], f: DecisionFacts): Determination {
  const decisions = decide(policies, f);
  expect(decisions).toHaveLength(1);
  expect(isDetermination(decisions[0]!)).toBe(true);
  return decisions[0] as Determination;
}

describe('versionOn: the latest version in force on the date of service', () => {
  const medica = MEDICA[0]!;
  test.each([
    ['2024-06-01', '2024-01-01'],
    ['2024-01-01', '2024-01-01'],
    ['2025-08-31', '2024-01-01'],
    ['2025-09-01', '2025-09-01'],
    ['2026-12-01', '2025-09-01'],
  ])('Medica Central on %s → the %s version', (date, version) => {
    expect(versionOn(medica, date)?.version).toBe(version);
  });

  test('D1: Medica Central before 2024-01-01 has no version', () => {
    expect(versionOn(medica, '2023-12-31')).toBeUndefined();
  });

  test('does not depend on the order versions are listed in', () => {
    const reversed: CoveragePolicyDoc = { ...medica, versions: [...medica.versions].reverse() };
    expect(versionOn(reversed, '2026-12-01')?.version).toBe('2025-09-01');
    expect(versionOn(reversed, '2024-06-01')?.version).toBe('2024-01-01');
  });

  test('the determination names the version that applied', () => {
    expect(only(MEDICA, facts({ date: '2024-06-01' })).version.label).toMatch(/original version effective 01\/01\/2024/);
    expect(only(MEDICA, facts({ date: '2026-12-01' })).version.label).toMatch(/effective 09\/01\/2025/);
  });
});

describe('D1: a date of service before the policy took effect gives no determination', () => {
  test.each<[string, readonly CoveragePolicyDoc[], string]>([
    ['Medica Central', MEDICA, '2023-12-31'],
    ['Medica Central (sr-dn-2023)', MEDICA, '2023-06-01'],
    ['BCBS MA', BCBS, '2016-08-31'],
    ['BCBS MA (sr-dn-2016-text)', BCBS, '2016-05-01'],
  ])('%s on %s → before-effective', (_name, policies, date) => {
    const decisions: Decision[] = decide(policies, facts({ date }));
    expect(decisions).toHaveLength(1);
    expect(isDetermination(decisions[0]!)).toBe(false);
    expect(decisions[0]).toMatchObject({ why: 'before-effective' });
  });

  test('BCBS MA on its effective date 2016-09-01 decides', () => {
    expect(only(BCBS, facts({ date: '2016-09-01', setting: 'outpatient' })).rule.id).toBe('B1');
  });
});

type Row = [row: string, when: string, policies: readonly CoveragePolicyDoc[], f: DecisionFacts, covered: string, pa: string | undefined, info: string[] | undefined, indicator: string];

describe('rule choice for each DECISIONS §4 row', () => {
  test.each<Row>([
    ['M1', 'Medica Central, commercial, unknown setting', MEDICA, facts({ productLine: 'commercial' }), 'not-covered', undefined, undefined, 'warning'],
    ['M1', 'Medica Central, commercial, inpatient setting', MEDICA, facts({ productLine: 'commercial', setting: 'inpatient' }), 'not-covered', undefined, undefined, 'warning'],
    ['M2', 'Medica Central, medicare, unknown setting', MEDICA, facts({ productLine: 'medicare' }), 'not-covered', undefined, undefined, 'warning'],
    ['M2', 'Medica Central, medicare-advantage, unknown setting', MEDICA, facts({ productLine: 'medicare-advantage' }), 'not-covered', undefined, undefined, 'warning'],
    ['M2', 'Medica Central, medicaid, unknown setting', MEDICA, facts({ productLine: 'medicaid' }), 'not-covered', undefined, undefined, 'warning'],
    ['M2', 'Medica Central, other-government, unknown setting', MEDICA, facts({ productLine: 'other-government' }), 'not-covered', undefined, undefined, 'warning'],
    ['M3', 'Medica Central, 20999 alone, commercial, unknown setting', MEDICA, facts({ match: POSSIBLE, productLine: 'commercial' }), 'conditional', 'no-auth', ['OTH'], 'info'],
    ['M3', 'Medica Central, 20999 alone, medicaid, unknown setting', MEDICA, facts({ match: POSSIBLE, productLine: 'medicaid' }), 'conditional', 'no-auth', ['OTH'], 'info'],
    ['M3', 'Medica Central, 20999 alone, unknown, unknown setting', MEDICA, facts({ match: POSSIBLE, productLine: 'unknown' }), 'conditional', 'no-auth', ['OTH'], 'info'],
    ['B1', 'BCBS MA, commercial, outpatient setting', BCBS, facts({ productLine: 'commercial', setting: 'outpatient' }), 'not-covered', undefined, undefined, 'warning'],
    ['B2', 'BCBS MA, commercial, inpatient setting', BCBS, facts({ productLine: 'commercial', setting: 'inpatient' }), 'conditional', 'auth-needed', ['OTH'], 'warning'],
    ['B3', 'BCBS MA, commercial, unknown setting', BCBS, facts({ productLine: 'commercial', setting: 'unknown' }), 'conditional', 'conditional', ['location'], 'warning'],
    ['B4', 'BCBS MA, medicare-advantage, outpatient setting', BCBS, facts({ productLine: 'medicare-advantage', setting: 'outpatient' }), 'conditional', 'conditional', ['OTH'], 'info'],
    ['B4', 'BCBS MA, medicare-advantage, inpatient setting', BCBS, facts({ productLine: 'medicare-advantage', setting: 'inpatient' }), 'conditional', 'conditional', ['OTH'], 'info'],
    ['B4', 'BCBS MA, medicare-advantage, unknown setting', BCBS, facts({ productLine: 'medicare-advantage', setting: 'unknown' }), 'conditional', 'conditional', ['OTH'], 'info'],
    ['C1', 'Medica Central, commercial, unknown setting, coverage not active', MEDICA, facts({ active: false }), 'not-covered', undefined, undefined, 'warning'],
    ['C1', 'Medica Central, medicare, unknown setting, coverage not active', MEDICA, facts({ active: false, productLine: 'medicare' }), 'not-covered', undefined, undefined, 'warning'],
    ['C1', 'BCBS MA, commercial, inpatient setting, coverage not active', BCBS, facts({ active: false, setting: 'inpatient' }), 'not-covered', undefined, undefined, 'warning'],
    ['C1', 'BCBS MA, medicare-advantage, unknown setting, coverage not active', BCBS, facts({ active: false, productLine: 'medicare-advantage' }), 'not-covered', undefined, undefined, 'warning'],
  ])('%s: %s', (row, _when, policies, f, covered, pa, info, indicator) => {
    const d = only(policies, f);
    expect(d.rule.id).toBe(row);
    expect(d.rule.determination.covered).toBe(covered);
    expect(d.rule.determination.paNeeded).toBe(pa);
    expect(d.rule.determination.infoNeeded).toEqual(info);
    expect(d.rule.card.indicator).toBe(indicator);
  });

  test('M3 asks CRD 2.2 clients for detail-code', () => {
    expect(only(MEDICA, facts({ match: POSSIBLE })).rule.determination.crd22?.infoNeeded).toEqual(['detail-code']);
  });

  test('C1 carries the CRD 2.2 reason code no-active-coverage', () => {
    expect(only(BCBS, facts({ active: false })).rule.determination.crd22?.reasonCodes).toEqual(['no-active-coverage']);
  });

  test('a conditional determination always carries a reason', () => {
    for (const f of [facts({ setting: 'inpatient' }), facts({ setting: 'unknown' }), facts({ productLine: 'medicare-advantage' })]) {
      expect(only(BCBS, f).rule.determination.reason.length).toBeGreaterThan(20);
    }
  });
});

describe('unknown product line', () => {
  test('Medica Central: assumed commercial → M1, productLineAssumed true', () => {
    expect(only(MEDICA, facts({ productLine: 'unknown' }))).toMatchObject({ rule: { id: 'M1' }, productLine: 'commercial', productLineAssumed: true });
  });

  test.each<[CareSetting, string]>([
    ['outpatient', 'B1'],
    ['inpatient', 'B2'],
    ['unknown', 'B3'],
  ])('BCBS MA, %s: assumed commercial → %s, productLineAssumed true', (setting, rule) => {
    expect(only(BCBS, facts({ productLine: 'unknown', setting }))).toMatchObject({ rule: { id: rule }, productLine: 'commercial', productLineAssumed: true });
  });

  test('a known product line is not an assumption', () => {
    expect(only(BCBS, facts({ productLine: 'commercial', setting: 'outpatient' })).productLineAssumed).toBe(false);
  });

  test('a policy without unknownProductLine gives no rule for an unknown product line', () => {
    const { unknownProductLine: _, ...strict } = BCBS[0]!;
    expect(decide([strict], facts({ productLine: 'unknown', setting: 'outpatient' }))).toEqual([{ policy: strict, why: 'no-rule' }]);
  });
});

describe('scope: which orders a policy speaks to', () => {
  test('BCBS MA excludes possible orders: 20999 alone gives no decision at all', () => {
    expect(decide(BCBS, facts({ match: POSSIBLE, setting: 'outpatient' }))).toEqual([]);
    expect(decide(BCBS, facts({ match: POSSIBLE, active: false }))).toEqual([]);
  });

  test('a policy for another service is not consulted', () => {
    expect(decide(MEDICA, facts({ match: { ...DEFINITE, service: 'acupuncture' } }))).toEqual([]);
  });

  test('no policies, no decisions', () => {
    expect(decide([], facts())).toEqual([]);
  });

  test('each policy of the payer decides on its own', () => {
    const second: CoveragePolicyDoc = { ...MEDICA[0]!, id: 'second' };
    expect(decide([MEDICA[0]!, second], facts()).map((d) => (isDetermination(d) ? `${d.policy.id}:${d.rule.id}` : d.why))).toEqual([
      'medica-central-mp9672:M1',
      'second:M1',
    ]);
  });
});

describe('a third payer added as data only decides an order', () => {
  let dir: string;
  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('Acme (NAIC 99999) with its own policy: identified, classified and decided with no code change', () => {
    dir = mkdtempSync(join(tmpdir(), 'policies-'));
    cpSync(join(projectRoot, 'policies'), dir, { recursive: true });
    const payersFile = join(dir, 'payers.json');
    const payers = JSON.parse(readFileSync(payersFile, 'utf8')) as PayersDoc;
    payers.payers.push({
      id: 'acme',
      name: 'Acme Health Plan',
      shortName: 'Acme',
      identifiers: [{ system: 'urn:oid:2.16.840.1.113883.6.300', value: '99999' }],
      aliases: ['Acme Health Plan'],
      policyLibrary: { label: 'Acme policies', url: 'https://acme.example.org/policies' },
      planNamePatterns: [],
    });
    writeFileSync(payersFile, JSON.stringify(payers));
    const policy: CoveragePolicyDoc = {
      id: 'acme-dry-needling',
      payer: 'acme',
      number: 'AC-77',
      title: 'Dry Needling',
      service: 'dry-needling',
      versions: [{ version: '1', effective: '2026-01-01', label: 'effective 2026-01-01' }],
      scope: ['definite'],
      links: [{ label: 'Acme AC-77', url: 'https://acme.example.org/policies/ac-77' }],
      overrideReasons: [{ code: 'clinical-judgment', display: 'Proceeding on clinical judgment' }],
      rules: [
        {
          id: 'A-covered',
          when: { orderCertainty: ['definite'], productLines: ['commercial'] },
          determination: { covered: 'covered', paNeeded: 'no-auth', reason: 'Dry needling is covered under {payerName} {policyNumber}.' },
          card: { indicator: 'info', summary: '{payerName}: dry needling is covered ({policyNumber})', detail: 'Covered under {policyNumber} *{policyTitle}*.' },
        },
      ],
    };
    writeFileSync(join(dir, 'coverage', 'acme-dry-needling.json'), JSON.stringify(policy));

    const engine = new DecisionEngine(loadPolicyCatalog(dir));
    expect(engine.catalog.isServed('acme')).toBe(true);

    const coverage = fixture<Coverage>('Coverage/cov-acme');
    const payer = engine.payers.identify(coverage, (ref: Reference) =>
      ref.reference === 'Organization/org-acme' ? { resource: fixture<Organization>('Organization/org-acme'), source: 'request', reference: ref.reference } : undefined,
    );
    expect(payer).toMatchObject({ payer: { id: 'acme' }, matchedBy: 'identifier' });

    const productLine = classifyProductLine(coverage, payer!.payer, engine.catalog.productLines, engine.catalog.codeSystems);
    expect(productLine.productLine).toBe('commercial');

    const order = fixture<ServiceRequest>('ServiceRequest/sr-dn-20560');
    const matcher = new ServiceMatcher(engine.catalog.services.get('dry-needling')!, engine.catalog.codeSystems);
    const match = matcher.match(orderView(order));
    expect(match).toMatchObject({ certainty: 'definite', matchedBy: 'code' });

    const decisions = decide(engine.catalog.policiesFor('acme'), {
      match: match!,
      dateOfService: { date: '2026-12-01', source: 'occurrenceDateTime' },
      coverageActive: true,
      productLine,
      careSetting: { setting: 'unknown', source: 'none' },
    });
    expect(decisions).toHaveLength(1);
    expect(decisions[0]).toMatchObject({ policy: { id: 'acme-dry-needling' }, rule: { id: 'A-covered', determination: { covered: 'covered' } } });
    // The shipped payers are untouched by the addition.
    expect(engine.catalog.policiesFor('bcbsma').map((p) => p.id)).toEqual(['bcbsma-dry-needling']);
  });
});
