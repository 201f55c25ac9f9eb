import type { Coverage, Encounter, Reference } from 'fhir/r4.js';
import { careSetting, type CareSettingFact } from '../facts/care-setting.js';
import { isActiveOn, isUsable } from '../facts/coverage.js';
import { dateOfService, type DateOfService } from '../facts/date-of-service.js';
import type { OrderMatch } from '../facts/order-match.js';
import type { PayerMatch, ResolvedOrganization } from '../facts/payer.js';
import { classifyProductLine, type ProductLineFact } from '../facts/product-line.js';
import type { ClinicalData } from '../fhir/clinical-data.js';
import { keyOf } from '../fhir/references.js';
import { badRequest } from '../http/errors.js';
import { decide, isDetermination, type Determination } from '../policy/decide.js';
import type { DecisionEngine } from './engine.js';
import type { OrderUnderReview } from './orders.js';
import type { HookCall } from './request.js';

/** The facts read about one Coverage of the patient. */
export interface CoverageFacts {
  coverage: Coverage;
  /** "Coverage/id" as the client knows it. */
  reference: string;
  payer: PayerMatch;
  productLine: ProductLineFact;
}

/** One order under one Coverage: the facts and what the policies determined. */
export interface CoverageEvaluation {
  coverage: CoverageFacts;
  dateOfService: DateOfService;
  careSetting: CareSettingFact;
  active: boolean;
  determination: Determination;
  /** Words for the product line the rule was chosen for ("commercial", "Medicare Advantage"). */
  productLineDisplay: string;
}

export interface OrderEvaluation {
  order: OrderUnderReview;
  match: OrderMatch;
  results: CoverageEvaluation[];
}

export interface Evaluation { orders: OrderEvaluation[]; notes: string[] }

const today = () => new Date().toISOString().slice(0, 10);

/**
 * facts → decide for the in-scope orders. FHIR reads happen here, all started together: the
 * patient's Coverages (with their payers), the orders' own `insurance` Coverages and the Encounters
 * the care setting needs. Payer Organizations not sent and not named by the reference are read after.
 */
export async function evaluate(
  call: HookCall,
  data: ClinicalData,
  engine: DecisionEngine,
  inScope: Array<{ order: OrderUnderReview; match: OrderMatch }>,
): Promise<Evaluation> {
  const contextEncounter = call.request.context.encounterId ? `Encounter/${call.request.context.encounterId}` : undefined;

  const perOrder = await Promise.all(
    inScope.map(async ({ order, match }) => {
      const resource = order.resource;
      const insurance = resource.resourceType === 'ServiceRequest' && Array.isArray(resource.insurance) ? resource.insurance : [];
      const settingFromOrder = careSetting(resource, undefined, engine.catalog.careSettings, engine.catalog.codeSystems);
      const encounterRef = (resource as { encounter?: Reference }).encounter?.reference ?? contextEncounter;
      // One parallel round: the order's own Coverages, or the patient's, and the Encounter if needed.
      const [own, patients, encounter] = await Promise.all([
        Promise.all(insurance.map((ref) => data.resolve<Coverage>(ref?.reference, 'Coverage', resource))),
        insurance.length === 0 ? data.patientCoverages() : Promise.resolve(undefined),
        settingFromOrder.setting === 'unknown' ? data.encounter(encounterRef, resource) : Promise.resolve<Encounter | undefined>(undefined),
      ]);
      const ownCoverages = own.flatMap((r) => (r ? [r.resource] : []));
      // DECISIONS §2: the order's insurance first, otherwise the patient's Coverages.
      const coverages = ownCoverages.length > 0 ? ownCoverages : (patients ?? (await data.patientCoverages()));
      // DECISIONS §3: the order's own signals first; the Encounter only when they are silent.
      const setting = encounter ? careSetting(resource, encounter, engine.catalog.careSettings, engine.catalog.codeSystems) : settingFromOrder;
      return { order, match, coverages: coverages.filter(isUsable), setting };
    }),
  );

  const allCoverages = new Map<string, Coverage>();
  for (const o of perOrder) for (const c of o.coverages) if (keyOf(c)) allCoverages.set(keyOf(c)!, c);
  if (allCoverages.size === 0) {
    if (perOrder.some((o) => o.coverages.length > 0)) {
      // coverage-information.coverage is a required Reference: a Coverage without a valid id cannot be named.
      throw badRequest('The patient\'s Coverage has no valid FHIR id, so coverage information cannot reference it.');
    }
    throw badRequest('No Coverage was found for the patient: coverage requirements cannot be determined without one.');
  }

  const facts = new Map<string, CoverageFacts | undefined>();
  await Promise.all(
    [...allCoverages].map(async ([reference, coverage]) => facts.set(reference, await coverageFacts(coverage, reference, data, engine))),
  );
  if (![...facts.values()].some((f) => f !== undefined)) {
    throw badRequest(
      'None of the patient\'s Coverages is with a payer this service serves (payers served: ' +
        engine.catalog.payers.filter((p) => engine.catalog.isServed(p.id)).map((p) => p.name).join(', ') +
        ').',
    );
  }

  const notes = [...data.notes];
  const now = today();
  const orders: OrderEvaluation[] = perOrder.map(({ order, match, coverages, setting }) => {
    const dos = dateOfService(order.resource, order.appointment, now);
    const served = [...new Set(coverages.map((c) => keyOf(c)))].map((k) => (k ? facts.get(k) : undefined)).filter((f): f is CoverageFacts => f !== undefined);
    const active = served.filter((f) => isActiveOn(f.coverage, dos.date));
    // Several active Coverages: each is evaluated on its own. None active: C1 on the served ones.
    const evaluated = active.length > 0 ? active : served;
    const results = evaluated.flatMap((coverage): CoverageEvaluation[] => {
      const decisions = decide(engine.catalog.policiesFor(coverage.payer.payer.id, match.service), {
        match,
        dateOfService: dos,
        coverageActive: active.length > 0,
        productLine: coverage.productLine,
        careSetting: setting,
      });
      for (const d of decisions) if (!isDetermination(d)) notes.push(`${order.reference}: ${d.policy.id} gave no determination (${d.why})`);
      return decisions
        .filter(isDetermination)
        .map((determination) => ({
          coverage,
          dateOfService: dos,
          careSetting: setting,
          active: active.length > 0,
          determination,
          productLineDisplay:
            determination.productLine === 'unknown' ? 'unknown product' : engine.catalog.displayProductLine(determination.productLine),
        }));
    });
    return { order, match, results };
  });
  return { orders, notes };
}

async function coverageFacts(coverage: Coverage, reference: string, data: ClinicalData, engine: DecisionEngine): Promise<CoverageFacts | undefined> {
  const payors = Array.isArray(coverage.payor) ? coverage.payor.filter((p) => p && typeof p === 'object') : [];
  const organizations = new Map<Reference, ResolvedOrganization | undefined>();
  await Promise.all(
    payors.map(async (ref) => {
      // Read the Organization from the FHIR server only when neither the client's data nor the
      // reference itself (identifier or display) names the payer.
      const needed = !engine.payers.knownFromReference(ref) || data.resolveLocally(ref.reference, coverage) !== undefined;
      organizations.set(ref, needed ? await data.organization(ref, coverage) : undefined);
    }),
  );
  const payer = engine.payers.identify(coverage, (ref) => organizations.get(ref));
  if (!payer || !engine.catalog.isServed(payer.payer.id)) return undefined;
  return {
    coverage,
    reference,
    payer,
    productLine: classifyProductLine(coverage, payer.payer, engine.catalog.productLines, engine.catalog.codeSystems),
  };
}
