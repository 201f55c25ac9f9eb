import type { CodeableConcept, Coding, Encounter, FhirResource } from 'fhir/r4.js';
import type { CareSetting, CareSettingsDoc } from '../policy/types.js';
import type { CodeSystemAliases } from './code-systems.js';

export interface CareSettingFact {
  setting: CareSetting;
  /** Which signal answered; 'none' when none did. */
  source: CareSettingsDoc['signals'][number]['source'] | 'none';
  code?: string;
  /** The Encounter consulted, when that signal answered. */
  encounter?: string;
}

function concepts(value: unknown): CodeableConcept[] {
  return Array.isArray(value) ? value.filter((v) => v && typeof v === 'object') : [];
}

/**
 * Care setting, DECISIONS §3: the first signal that answers wins, in the order of
 * policies/care-settings.json (order category, order place of service, Encounter.class).
 * A Location typed as a hospital is not a signal.
 */
export function careSetting(
  order: FhirResource,
  encounter: Encounter | undefined,
  doc: CareSettingsDoc,
  systems: CodeSystemAliases,
): CareSettingFact {
  const o = order as { category?: unknown; locationCode?: unknown };
  const codingsFor = (source: CareSettingsDoc['signals'][number]['source']): Coding[] => {
    switch (source) {
      case 'order.category':
        return concepts(o.category).flatMap((c) => (Array.isArray(c.coding) ? c.coding : []));
      case 'order.locationCode':
        return concepts(o.locationCode).flatMap((c) => (Array.isArray(c.coding) ? c.coding : []));
      case 'encounter.class':
        return encounter?.class && typeof encounter.class === 'object' ? [encounter.class] : [];
    }
  };
  for (const signal of doc.signals) {
    const system = systems.canonical(signal.system);
    for (const coding of codingsFor(signal.source)) {
      if (!coding || systems.canonical(coding.system) !== system || typeof coding.code !== 'string') continue;
      let code = coding.code.trim();
      if (signal.codeLength && /^\d+$/.test(code)) code = code.padStart(signal.codeLength, '0');
      const setting: CareSetting | undefined = signal.inpatient.includes(code)
        ? 'inpatient'
        : signal.outpatient.includes(code)
          ? 'outpatient'
          : undefined;
      if (setting) {
        return {
          setting,
          source: signal.source,
          code,
          ...(signal.source === 'encounter.class' && encounter?.id ? { encounter: `Encounter/${encounter.id}` } : {}),
        };
      }
    }
  }
  return { setting: 'unknown', source: 'none' };
}
