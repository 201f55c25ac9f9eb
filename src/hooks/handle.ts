import { ClinicalData, type FhirAccess } from '../fhir/clinical-data.js';
import { buildResponse, emptyResponse } from '../respond/response.js';
import type { CdsResponse } from '../respond/cds-types.js';
import type { AnswerTrace } from '../respond/trace.js';
import type { DecisionEngine } from './engine.js';
import { evaluate } from './evaluate.js';
import { checkOrder } from './order-schema.js';
import { ordersUnderReview } from './orders.js';
import type { HookCall } from './request.js';

export interface HookOutcome {
  response: CdsResponse;
  /** For the log and the audit: ids and codes only (no names, no tokens). */
  summary: { orders: string[]; determinations: string[]; notes: string[] };
  /** Every coverage-information repetition and card of the response, for the records. */
  trace: AnswerTrace;
}

/**
 * One hook call, straight through the pipeline: orders → (scope) → context → facts → decide →
 * respond. Coverage is looked up only when some order could be in scope, so an order that is not
 * dry needling (DECISIONS X1) never costs a FHIR query and never fails for want of coverage.
 */
export async function handleHook(call: HookCall, engine: DecisionEngine, access: FhirAccess): Promise<HookOutcome> {
  const data = new ClinicalData(call.request, access);
  const orders = await ordersUnderReview(call, data);
  const inScope = orders.flatMap((order) => {
    const match = engine.inScope(order);
    return match ? [{ order, match }] : [];
  });
  for (const { order } of inScope) checkOrder(order);
  if (inScope.length === 0) {
    return {
      response: emptyResponse(call.service.hook),
      summary: { orders: orders.map((o) => o.reference), determinations: [], notes: data.notes },
      trace: { assertions: [], cards: [] },
    };
  }
  const evaluation = await evaluate(call, data, engine, inScope);
  const answer = buildResponse(call.service.hook, evaluation, call.options, engine.catalog.careSettings);
  return {
    ...answer,
    summary: {
      orders: orders.map((o) => o.reference),
      determinations: evaluation.orders.flatMap((o) =>
        o.results.map((r) => `${o.order.reference} ${r.coverage.reference} ${r.determination.policy.id}#${r.determination.rule.id}`),
      ),
      notes: evaluation.notes,
    },
  };
}
