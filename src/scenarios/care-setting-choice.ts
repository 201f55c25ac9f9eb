import type { CodeableConcept, ServiceRequest } from 'fhir/r4.js';
import type { CareSetting, CareSettingsDoc } from '../policy/types.js';
import type { CdsHooksRequestJson } from './scenarios.js';

/** What the person trying a scenario may say about where the service will be performed. */
export type CareSettingChoice = 'as-recorded' | CareSetting;

export const CARE_SETTING_CHOICES: readonly CareSettingChoice[] = ['as-recorded', 'inpatient', 'outpatient', 'unknown'];

export function isCareSettingChoice(value: unknown): value is CareSettingChoice {
  return typeof value === 'string' && (CARE_SETTING_CHOICES as readonly string[]).includes(value);
}

/**
 * Rewrites a scenario's request the way an EHR would record the chosen care setting on its orders
 * (DECISIONS §3): every ServiceRequest loses the order-level signals it had (category and place of
 * service codings of the systems in policies/care-settings.json); `inpatient` and `outpatient` then
 * record the setting as the first order category code listed for it (the signal that wins), and
 * `unknown` also drops the Encounter (order, context and prefetch), so that no signal answers.
 */
export function applyCareSetting(request: CdsHooksRequestJson, choice: CareSetting, doc: CareSettingsDoc): void {
  const orderSignals = doc.signals.filter((s) => s.source !== 'encounter.class');
  const category = doc.signals.find((s) => s.source === 'order.category');
  for (const order of serviceRequests(request)) {
    for (const signal of orderSignals) {
      const element = signal.source === 'order.category' ? 'category' : 'locationCode';
      const kept = withoutSystem(order[element], signal.system);
      if (kept.length > 0) order[element] = kept;
      else delete order[element];
    }
    if (choice === 'unknown') {
      delete order.encounter;
    } else if (category) {
      const code = category[choice][0];
      if (code) order.category = [...(order.category ?? []), { coding: [{ system: category.system, code }] }];
    }
  }
  if (choice === 'unknown') {
    delete request.context.encounterId;
    if (request.prefetch) delete request.prefetch.encounter;
  }
}

function withoutSystem(concepts: CodeableConcept[] | undefined, system: string): CodeableConcept[] {
  return (concepts ?? []).flatMap((concept) => {
    const coding = (concept.coding ?? []).filter((c) => c.system !== system);
    if (coding.length === (concept.coding ?? []).length) return [concept];
    // FHIR JSON forbids empty arrays: a concept left with neither codings nor text goes.
    if (coding.length === 0 && !concept.text) return [];
    const { coding: _dropped, ...rest } = concept;
    return [coding.length > 0 ? { ...rest, coding } : rest];
  });
}

/** Every ServiceRequest the request carries: in context Bundles (draftOrders) and in prefetch Bundles. */
function serviceRequests(request: CdsHooksRequestJson): ServiceRequest[] {
  const bundles = [...Object.values(request.context), ...Object.values(request.prefetch ?? {})];
  return bundles.flatMap((value) => {
    const bundle = value as { resourceType?: unknown; entry?: Array<{ resource?: { resourceType?: unknown } }> } | null;
    if (!bundle || bundle.resourceType !== 'Bundle' || !Array.isArray(bundle.entry)) return [];
    return bundle.entry
      .map((e) => e.resource)
      .filter((r): r is ServiceRequest => r?.resourceType === 'ServiceRequest');
  });
}
