import type { Extension, FhirResource } from 'fhir/r4.js';
import type { AnswerOptions } from '../hooks/request.js';
import type { CoverageEvaluation } from '../hooks/evaluate.js';
import { renderTemplate } from '../policy/template.js';
import { templateValues } from './template-values.js';

export const COVERAGE_INFORMATION_URL = 'http://hl7.org/fhir/us/davinci-crd/StructureDefinition/ext-coverage-information';
/** CRD 2.0.1/2.1 temporary code system; CRD 2.2 keeps the assertion reason codes in it. */
export const CRD_TEMP_SYSTEM = 'http://hl7.org/fhir/us/davinci-crd/CodeSystem/temp';
/** CRD 2.2 coverage detail codes (policy-link). */
export const CRD_COVERAGE_DETAIL_SYSTEM = 'http://terminology.hl7.org/CodeSystem/crd-coverage-detail';

/**
 * One coverage-information repetition (CRD ext-coverage-information). By default it is valid under
 * CRD 2.0.1 and 2.2.1 at once (DECISIONS §6): pa-needed exactly when covered is not 'not-covered',
 * info-needed exactly when something is conditional, no 2.2-only codes, no detail.category.
 * When the client asked for CRD 2.2, the 2.2 forms are used: detail-code, the policy-link detail
 * and coded reasons such as no-active-coverage.
 */
export function coverageInformation(
  evaluation: CoverageEvaluation,
  billingCode: { system?: string; code?: string; display?: string } | undefined,
  assertionId: string,
  assertedOn: string,
  version: AnswerOptions['crdVersion'],
): Extension {
  const { determination } = evaluation;
  const rule = determination.rule.determination;
  const crd22 = version === '2.2' ? rule.crd22 : undefined;
  const parts: Extension[] = [
    { url: 'coverage', valueReference: { reference: evaluation.coverage.reference } },
    { url: 'covered', valueCode: rule.covered },
  ];
  if (rule.paNeeded) parts.push({ url: 'pa-needed', valueCode: rule.paNeeded });
  for (const code of crd22?.infoNeeded ?? rule.infoNeeded ?? []) parts.push({ url: 'info-needed', valueCode: code });
  if (billingCode?.code) parts.push({ url: 'billingCode', valueCoding: { ...billingCode } });
  const reason = renderTemplate(rule.reason, templateValues(evaluation));
  parts.push({
    url: 'reason',
    valueCodeableConcept: {
      ...(crd22?.reasonCodes ? { coding: crd22.reasonCodes.map((code) => ({ system: CRD_TEMP_SYSTEM, code })) } : {}),
      text: reason,
    },
  });
  if (version === '2.2') {
    const link = determination.rule.links?.[0] ?? determination.policy.links[0]!;
    parts.push({
      url: 'detail',
      extension: [
        { url: 'category', valueCode: 'cat-other' },
        { url: 'code', valueCodeableConcept: { coding: [{ system: CRD_COVERAGE_DETAIL_SYSTEM, code: 'policy-link' }] } },
        { url: 'value', valueUrl: link.url },
      ],
    });
  }
  parts.push({ url: 'date', valueDate: assertedOn }, { url: 'coverage-assertion-id', valueString: assertionId });
  return { url: COVERAGE_INFORMATION_URL, extension: parts };
}

/**
 * The whole order with the new coverage information added; earlier repetitions for the same
 * Coverages are replaced, everything else is left exactly as the client sent it.
 */
export function annotatedOrder<T extends FhirResource>(order: T, repetitions: Extension[]): T {
  const coverageOf = (e: Extension | undefined) =>
    Array.isArray(e?.extension) ? e.extension.find((p) => p?.url === 'coverage')?.valueReference?.reference : undefined;
  const coverages = new Set(repetitions.map(coverageOf));
  const existing = Array.isArray((order as { extension?: unknown }).extension) ? ((order as { extension: Extension[] }).extension) : [];
  const kept = existing.filter((e) => !(e?.url === COVERAGE_INFORMATION_URL && coverages.has(coverageOf(e))));
  // A shallow copy: the request is parsed for this call alone and nothing changes it, so the answer
  // may share its untouched parts (a deep clone cost more than the rest of building the answer).
  return { ...order, extension: [...kept, ...repetitions] };
}
