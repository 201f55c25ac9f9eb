import type { CodeableConcept, ServiceRequest } from 'fhir/r4.js';
import { randomUUID } from 'node:crypto';
import type { OrderEvaluation } from '../hooks/evaluate.js';
import type { CareSettingsDoc, PolicyRule } from '../policy/types.js';
import type { CdsSuggestion } from './cds-types.js';

/**
 * Suggestions a rule asks for (policies/coverage/*.json `suggestions`). `recordCareSetting` proposes
 * an update of each ServiceRequest the card concerns that records the care setting in its category
 * (the first order.category code for that setting in care-settings.json), so that the re-signed
 * order gets a definite answer instead of info-needed `location`.
 */
export function ruleSuggestions(rule: PolicyRule, orders: OrderEvaluation[], careSettings: CareSettingsDoc): CdsSuggestion[] {
  const signal = careSettings.signals.find((s) => s.source === 'order.category');
  const requests = orders.map((o) => o.order.resource).filter((r): r is ServiceRequest => r.resourceType === 'ServiceRequest');
  if (!rule.suggestions || !signal || requests.length === 0) return [];
  return rule.suggestions.flatMap((suggestion) => {
    const code = signal[suggestion.recordCareSetting][0];
    if (!code) return [];
    const category: CodeableConcept = { coding: [{ system: signal.system, code }] };
    return [
      {
        label: suggestion.label,
        uuid: randomUUID(),
        actions: requests.map((order) => ({
          type: 'update' as const,
          description: `Record ServiceRequest/${order.id} as ${suggestion.recordCareSetting} (category ${code})`,
          // Shallow, as in annotatedOrder: the request is this call's own and is never changed.
          resource: { ...order, category: [...(Array.isArray(order.category) ? order.category : []), category] },
        })),
      },
    ];
  });
}
