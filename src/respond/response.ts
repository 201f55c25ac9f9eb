import type { Extension } from 'fhir/r4.js';
import { newRecordId } from '../records/ids.js';
import type { Evaluation } from '../hooks/evaluate.js';
import type { AnswerOptions } from '../hooks/request.js';
import type { CareSettingsDoc } from '../policy/types.js';
import { PRIMARY_HOOKS, type HookName } from '../hooks/service-definitions.js';
import type { CdsAction, CdsCard, CdsResponse } from './cds-types.js';
import { coverageCards } from './cards.js';
import { annotatedOrder, coverageInformation } from './coverage-information.js';
import { assertionRepetition, cardBasis, type AnswerTrace, type AssertionRepetition } from './trace.js';

const URGENCY: Record<CdsCard['indicator'], number> = { critical: 0, warning: 1, info: 2 };

/** The answer with no guidance: `cards: []`, and for CRD primary hooks an explicit `systemActions: []`. */
export function emptyResponse(hook: HookName): CdsResponse {
  return PRIMARY_HOOKS.has(hook) ? { cards: [], systemActions: [] } : { cards: [] };
}

/** An answer and what it asserted (for the records). */
export interface Answer {
  response: CdsResponse;
  trace: AnswerTrace;
}

/**
 * Cards and coverage-information systemActions (DECISIONS §4, §6, §7): one `update` per in-scope
 * order that got a determination, carrying the whole order with one repetition per Coverage. One
 * coverage-assertion-id per Coverage per call, so repetitions for the same Coverage share it and
 * different Coverages differ (CRD crd-ci rules on repetitions). `coverage-info: false` turns off both
 * cards and systemActions; `max-cards` keeps the most urgent cards. The trace lists every repetition
 * and card sent, with the determination behind it.
 */
export function buildResponse(hook: HookName, evaluation: Evaluation, options: AnswerOptions, careSettings: CareSettingsDoc): Answer {
  const response = emptyResponse(hook);
  if (!options.coverageInfo) return { response, trace: { assertions: [], cards: [] } };
  const decided = evaluation.orders.filter((o) => o.results.length > 0);
  const assertionIds = new Map<string, string>();
  const assertedOn = new Date().toISOString().slice(0, 10);

  const assertions: AssertionRepetition[] = [];
  const actions: CdsAction[] = decided.map((order) => {
    const repetitions: Extension[] = order.results.map((result) => {
      let id = assertionIds.get(result.coverage.reference);
      if (!id) assertionIds.set(result.coverage.reference, (id = newRecordId()));
      const repetition = coverageInformation(result, order.match.billingCode, id, assertedOn, options.crdVersion);
      assertions.push(assertionRepetition(result, order.order, repetition));
      return repetition;
    });
    const outcomes = order.results
      .map((r) => `${r.coverage.payer.payer.shortName}: ${r.determination.rule.determination.covered}`)
      .join('; ');
    return {
      type: 'update',
      description: `Add coverage information (${outcomes}) to ${order.order.reference}`,
      resource: annotatedOrder(order.order.resource, repetitions),
    };
  });

  const cards = coverageCards(decided, options, careSettings)
    .sort((a, b) => URGENCY[a.card.indicator] - URGENCY[b.card.indicator])
    .slice(0, options.maxCards);
  return {
    response: { cards: cards.map((c) => c.card), ...(actions.length > 0 || PRIMARY_HOOKS.has(hook) ? { systemActions: actions } : {}) },
    trace: {
      assertions,
      cards: cards.map(({ card, basis }) => cardBasis(card.uuid, assertionIds.get(basis.coverage.reference)!, basis)),
    },
  };
}
