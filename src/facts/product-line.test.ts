import { join } from 'node:path';
import type { Coverage, CoverageClass } from 'fhir/r4.js';
import { fixture } from '../../test/support/fixtures.js';
import { projectRoot } from '../config.js';
import { loadPolicyCatalog } from '../policy/load.js';
import type { PayerEntry } from '../policy/types.js';
import { classifyProductLine } from './product-line.js';

const SOPT = 'https://nahdo.org/sopt';
const ACT = 'http://terminology.hl7.org/CodeSystem/v3-ActCode';

const catalog = loadPolicyCatalog(join(projectRoot, 'policies'));
const payer = (id: string): PayerEntry => catalog.payers.find((p) => p.id === id)!;
const BCBS = payer('bcbsma');
const MEDICA = payer('medica-central');

function coverage(type?: Coverage['type'], planNames: string[] = []): Coverage {
  const c: Coverage = { resourceType: 'Coverage', status: 'active', beneficiary: { reference: 'Patient/p' }, payor: [{ display: 'BCBS MA' }] };
  if (type) c.type = type;
  if (planNames.length > 0) {
    c.class = planNames.map((name, i): CoverageClass => ({ type: { coding: [{ code: i === 0 ? 'plan' : 'group' }] }, value: `V${i}`, name }));
  }
  return c;
}
const classify = (c: Coverage, p: PayerEntry = BCBS) => classifyProductLine(c, p, catalog.productLines, catalog.codeSystems);
const sopt = (code: string, system = SOPT) => ({ coding: [{ system, code }] });
const act = (code: string) => ({ coding: [{ system: ACT, code }] });

describe('product line from the Source of Payment Typology (strong: decides alone)', () => {
  test.each([
    ['612', 'commercial', 'PPO'],
    ['611', 'commercial', 'HMO'],
    ['511', 'commercial', 'HMO'],
    ['512', 'commercial', 'PPO'],
    ['521', 'commercial', 'Indemnity'],
    ['529', 'commercial', 'Indemnity'],
    ['5', 'commercial', undefined],
    ['111', 'medicare-advantage', 'HMO'],
    ['112', 'medicare-advantage', 'PPO'],
    ['113', 'medicare-advantage', 'POS'],
    ['119', 'medicare-advantage', undefined],
    ['121', 'medicare', undefined],
    ['12', 'medicare', undefined],
    ['21', 'medicaid', undefined],
    ['2', 'medicaid', undefined],
    ['311', 'other-government', undefined],
    ['71', 'commercial', 'HMO'],
  ])('SOPT %s → %s %s', (code, productLine, planType) => {
    const fact = classify(coverage(sopt(code)));
    expect(fact.productLine).toBe(productLine);
    expect(fact.planType).toBe(planType);
    expect(fact.evidence).toBe(`Coverage.type (${SOPT} ${code})`);
  });

  test.each(['urn:oid:2.16.840.1.113883.3.221.5', 'SOPT', 'http://www.nahdo.org/sopt'])('the SOPT system written as %j still works', (system) => {
    expect(classify(coverage(sopt('111', system)))).toMatchObject({ productLine: 'medicare-advantage', planType: 'HMO' });
  });

  test('SOPT beats a misleading plan name', () => {
    expect(classify(coverage(sopt('612'), ['Medicare HMO Blue'])).productLine).toBe('commercial');
    expect(classify(coverage(sopt('111'), ['PPO Blue'])).productLine).toBe('medicare-advantage');
  });

  test('SOPT beats a v3-ActCode plan kind on the same type', () => {
    const type = { coding: [{ system: ACT, code: 'HMO' }, { system: SOPT, code: '111' }] };
    expect(classify(coverage(type)).productLine).toBe('medicare-advantage');
  });

  test('an unknown SOPT code (8, no payment) says nothing', () => {
    expect(classify(coverage(sopt('81'))).productLine).toBe('unknown');
  });
});

describe('v3-ActCode plan kinds (weak: commercial unless a Medicare signal says otherwise)', () => {
  test.each([
    ['HMO', 'HMO'],
    ['PPO', 'PPO'],
    ['POS', 'POS'],
    ['HIP', 'Indemnity'],
    ['EHCPOL', undefined],
  ])('v3-ActCode %s → commercial %s', (code, planType) => {
    const fact = classify(coverage(act(code)));
    expect(fact.productLine).toBe('commercial');
    expect(fact.planType).toBe(planType);
  });

  test.each([
    ['Medicare PPO Blue', BCBS],
    ['Medicare HMO Blue', BCBS],
    ['Medicare Advantage', BCBS],
    ['Medica Central Medicare PPO', MEDICA],
    ['MEDICARE ADVANTAGE GOLD', MEDICA],
  ])('v3-ActCode HMO with class name %j → medicare-advantage', (name, p) => {
    const fact = classify(coverage(act('HMO'), [name]), p);
    expect(fact.productLine).toBe('medicare-advantage');
    expect(fact.evidence).toContain(name);
  });

  test('v3-ActCode HMO with an ordinary plan name stays commercial', () => {
    expect(classify(coverage(act('HMO'), ['HMO Blue New England', 'South Shore Transit Authority'])).productLine).toBe('commercial');
  });

  test('a Medicaid plan name is Medicaid whatever the weak type code', () => {
    expect(classify(coverage(act('HMO'), ['MassHealth ACO'])).productLine).toBe('medicaid');
  });

  test('the v3-ActCode system as an OID still works', () => {
    expect(classify(coverage({ coding: [{ system: 'urn:oid:2.16.840.1.113883.5.4', code: 'PPO' }] }))).toMatchObject({
      productLine: 'commercial',
      planType: 'PPO',
    });
  });

  test('public-program ActCodes are strong', () => {
    expect(classify(coverage(act('PUBLICPOL'), ['Medicare Advantage'])).productLine).toBe('other-government');
  });
});

describe('plan names and texts', () => {
  test('type.text "Medicare Advantage" → medicare-advantage', () => {
    const fact = classify(coverage({ text: 'Medicare Advantage' }));
    expect(fact).toMatchObject({ productLine: 'medicare-advantage', evidence: 'Coverage.type.text "Medicare Advantage"' });
  });

  test('a class value can reveal it too', () => {
    const c = coverage();
    c.class = [{ type: { coding: [{ code: 'plan' }] }, value: 'Medicare HMO Blue' }];
    expect(classify(c)).toMatchObject({ productLine: 'medicare-advantage', evidence: 'Coverage.class[0].value "Medicare HMO Blue"' });
  });

  test('"Medicare PPO Blue" is a BCBS MA plan name: it counts for BCBS MA', () => {
    expect(classify(coverage(undefined, ['Medicare PPO Blue']), BCBS).productLine).toBe('medicare-advantage');
  });

  test('no type and no class → unknown', () => {
    const fact = classify(coverage());
    expect(fact.productLine).toBe('unknown');
    expect(fact.planType).toBeUndefined();
  });

  test('a class name that says nothing → unknown', () => {
    expect(classify(coverage(undefined, ['Medica Central Standard']), MEDICA).productLine).toBe('unknown');
  });
});

describe('the Coverage fixtures', () => {
  test.each([
    ['cov-bcbsma-ppo', 'bcbsma', 'commercial', 'PPO'],
    ['cov-bcbsma-hmo', 'bcbsma', 'commercial', 'HMO'],
    ['cov-bcbsma-ma', 'bcbsma', 'medicare-advantage', 'HMO'],
    ['cov-bcbsma-ma-by-name', 'bcbsma', 'medicare-advantage', undefined],
    ['cov-bcbsma-unknown', 'bcbsma', 'unknown', undefined],
    ['cov-medica-commercial', 'medica-central', 'commercial', 'HMO'],
    ['cov-medica-ma', 'medica-central', 'medicare-advantage', 'PPO'],
    ['cov-medica-medicaid', 'medica-central', 'medicaid', undefined],
    ['cov-medica-unknown', 'medica-central', 'unknown', undefined],
  ])('%s (%s) → %s %s', (id, payerId, productLine, planType) => {
    const fact = classify(fixture<Coverage>(`Coverage/${id}`), payer(payerId));
    expect(fact.productLine).toBe(productLine);
    expect(fact.planType).toBe(planType);
  });
});
