import { join } from 'node:path';
import type { CodeableConcept, ServiceRequest } from 'fhir/r4.js';
import { loadFixtures } from '../../test/support/fixtures.js';
import { projectRoot } from '../config.js';
import { ServiceMatcher, type OrderMatch } from '../facts/order-match.js';
import { orderView } from '../facts/order-view.js';
import { PolicyCatalog } from '../policy/catalog.js';
import { loadPolicyCatalog } from '../policy/load.js';
import type { ClinicalServiceDoc, CoveragePolicyDoc } from '../policy/types.js';
import { DecisionEngine } from './engine.js';
import type { OrderUnderReview } from './orders.js';

const CPT = 'http://www.ama-assn.org/go/cpt';
const SNOMED = 'http://snomed.info/sct';
const shipped = loadPolicyCatalog(join(projectRoot, 'policies'));

/** A made-up service; `a-…` ids sort before dry-needling, so the old scan would have tried them first. */
function service(n: number, system = CPT): ClinicalServiceDoc {
  return {
    id: `a-service-${n}`,
    name: `Service ${n}`,
    codes: [{ system, code: `Z${n}1` }],
    unlistedCodes: [{ system, code: `Z${n}9` }],
    descriptionPatterns: [`\\bprocedure ${n}\\b`],
    exclusions: { codes: [{ system, code: `Z${n}0` }], descriptionPatterns: [`\\bprocedure ${n} injection\\b`] },
  };
}

function policy(payer: string, serviceId: string, scope: CoveragePolicyDoc['scope'] = ['definite', 'possible']): CoveragePolicyDoc {
  const base = shipped.policiesFor('bcbsma')[0]!;
  return { ...base, id: `${payer}-${serviceId}`, payer, service: serviceId, scope };
}

/** The shipped catalog plus 60 services (one SNOMED-coded, one whose possible matches no policy speaks to) and 120 policies. */
function bigCatalog(): PolicyCatalog {
  const services = [...Array.from({ length: 58 }, (_, i) => service(i)), service(58, SNOMED), service(59)];
  const policies = services.flatMap((s) =>
    ['bcbsma', 'medica-central'].map((payer) => policy(payer, s.id, s.id === 'a-service-59' ? ['definite'] : undefined)),
  );
  return new PolicyCatalog({ ...shipped.docs, services: [...services, ...shipped.docs.services], policies: [...policies, ...shipped.docs.policies] });
}

const order = (code: CodeableConcept, id = 'sr-test'): OrderUnderReview => {
  const resource: ServiceRequest = { resourceType: 'ServiceRequest', id, status: 'draft', intent: 'order', subject: { reference: 'Patient/pat-anna' }, code };
  return { resource, reference: `ServiceRequest/${id}`, contextReference: `ServiceRequest/${id}` };
};

/** The behaviour before the index: every service tried in catalog order. */
function scanned(catalog: PolicyCatalog, o: OrderUnderReview): OrderMatch | undefined {
  const scopes = new Map<string, Set<string>>();
  for (const p of catalog.policies) scopes.set(p.service, new Set([...(scopes.get(p.service) ?? []), ...p.scope]));
  for (const s of catalog.services.values()) {
    const match = new ServiceMatcher(s, catalog.codeSystems).match(orderView(o.resource));
    if (match && scopes.get(match.service)?.has(match.certainty)) return match;
  }
  return undefined;
}

describe('an order finds its service by code, and the answer is the one a scan of every service gives', () => {
  const catalog = bigCatalog();
  const engine = new DecisionEngine(catalog);

  const fixtures = [...loadFixtures().values()]
    .filter((r): r is ServiceRequest => r.resourceType === 'ServiceRequest')
    .map((r) => ({ resource: r, reference: `ServiceRequest/${r.id}`, contextReference: `ServiceRequest/${r.id}` }));
  test.each(fixtures.map((f) => [f.reference, f] as const))('%s', (_ref, o) => {
    expect(engine.inScope(o)).toEqual(scanned(catalog, o));
  });

  test.each<[string, CodeableConcept, Partial<OrderMatch> | undefined]>([
    ['a made-up service by code', { coding: [{ system: CPT, code: 'Z71' }] }, { service: 'a-service-7', matchedBy: 'code' }],
    ['its unlisted code without text: possible', { coding: [{ system: CPT, code: 'Z79' }] }, { service: 'a-service-7', certainty: 'possible' }],
    ['its unlisted code with its text: definite', { coding: [{ system: CPT, code: 'Z79' }], text: 'Procedure 7' }, { service: 'a-service-7', certainty: 'definite' }],
    ['its excluded code', { coding: [{ system: CPT, code: 'Z70' }], text: 'procedure 7' }, undefined],
    ['its text alone', { text: 'procedure 12, left shoulder' }, { service: 'a-service-12', matchedBy: 'description' }],
    ['its text with a CPT code of another service', { coding: [{ system: CPT, code: '97110' }], text: 'procedure 12' }, undefined],
    ['a SNOMED-coded order described as the SNOMED service', { coding: [{ system: SNOMED, code: '1234' }], text: 'procedure 58' }, undefined],
    ['a CPT order described as the SNOMED-coded service', { coding: [{ system: CPT, code: '97110' }], text: 'procedure 58' }, { service: 'a-service-58', matchedBy: 'description' }],
    ['a possible match no policy speaks to', { coding: [{ system: CPT, code: 'Z599' }] }, undefined],
    ['dry needling by code, after 60 other services', { coding: [{ system: CPT, code: '20560' }] }, { service: 'dry-needling', matchedBy: 'code' }],
    ['dry needling by text alone', { text: 'Trigger point dry needling' }, { service: 'dry-needling', matchedBy: 'description' }],
    ['an OID-coded dry-needling order', { coding: [{ system: 'urn:oid:2.16.840.1.113883.6.12', code: ' 20561 ' }] }, { service: 'dry-needling', matchedBy: 'code' }],
  ])('%s', (_label, code, expected) => {
    const o = order(code);
    const match = engine.inScope(o);
    expect(match).toEqual(scanned(catalog, o));
    if (expected) expect(match).toMatchObject(expected);
    else expect(match).toBeUndefined();
  });
});

describe('policies are looked up by payer and service', () => {
  const catalog = bigCatalog();
  test('only the payer’s policies about the service', () => {
    expect(catalog.policiesFor('bcbsma', 'dry-needling').map((p) => p.id)).toEqual(['bcbsma-dry-needling']);
    expect(catalog.policiesFor('medica-central', 'a-service-3').map((p) => p.id)).toEqual(['medica-central-a-service-3']);
    expect(catalog.policiesFor('bcbsma')).toHaveLength(61);
    expect(catalog.policiesFor('acme', 'dry-needling')).toEqual([]);
    expect(catalog.policiesFor('bcbsma', 'acupuncture')).toEqual([]);
  });
});
