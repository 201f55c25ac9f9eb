import type { Extension, FhirResource } from 'fhir/r4.js';
import type { CoverageEvaluation } from '../hooks/evaluate.js';

/**
 * One coverage-information repetition as returned, for the records: ids and codes only (CRD: a
 * coverage-assertion-id must be traceable when the claim or prior-authorization request arrives).
 */
export interface AssertionRepetition {
  assertionId: string;
  /** "Type/id" of the order the repetition annotates. */
  order: string;
  /**
   * The order as the client sent it. The records store its fingerprint (`order_sha256`: SHA-256,
   * hex, of its RFC 8785 canonical JSON), computed once per order as they write it (src/records).
   */
  orderResource: FhirResource;
  coverage: string;
  payer: string;
  policy: string;
  policyVersion: string;
  rule: string;
  covered: string;
  paNeeded?: string;
  infoNeeded: string[];
  /** "system|code" of the billingCode, when one was ordered. */
  billingCode?: string;
  /** The repetition's `date`. */
  date: string;
}

/** The determination behind one card, so feedback (which names only the card uuid) can be counted. */
export type CardBasis = { card: string } & Pick<
  AssertionRepetition,
  'assertionId' | 'coverage' | 'payer' | 'policy' | 'policyVersion' | 'rule' | 'covered' | 'paNeeded'
>;

/** What one answer asserted, beside the CDS Hooks response itself. */
export interface AnswerTrace {
  assertions: AssertionRepetition[];
  cards: CardBasis[];
}

function determinationOf(result: CoverageEvaluation) {
  const { determination, coverage } = result;
  return {
    coverage: coverage.reference,
    payer: coverage.payer.payer.id,
    policy: determination.policy.id,
    policyVersion: determination.version.version,
    rule: determination.rule.id,
  };
}

/** The record of a repetition, read back from the extension that was built, so it says exactly what was sent. */
export function assertionRepetition(result: CoverageEvaluation, order: { reference: string; resource: FhirResource }, repetition: Extension): AssertionRepetition {
  const parts = repetition.extension ?? [];
  const one = (url: string) => parts.find((p) => p.url === url);
  const billing = one('billingCode')?.valueCoding;
  const paNeeded = one('pa-needed')?.valueCode;
  return {
    assertionId: one('coverage-assertion-id')!.valueString!,
    order: order.reference,
    orderResource: order.resource,
    ...determinationOf(result),
    covered: one('covered')!.valueCode!,
    ...(paNeeded ? { paNeeded } : {}),
    infoNeeded: parts.filter((p) => p.url === 'info-needed').map((p) => p.valueCode!),
    ...(billing?.code ? { billingCode: `${billing.system ?? ''}|${billing.code}` } : {}),
    date: one('date')!.valueDate!,
  };
}

export function cardBasis(card: string, assertionId: string, result: CoverageEvaluation): CardBasis {
  const rule = result.determination.rule.determination;
  return { card, assertionId, ...determinationOf(result), covered: rule.covered, ...(rule.paNeeded ? { paNeeded: rule.paNeeded } : {}) };
}
