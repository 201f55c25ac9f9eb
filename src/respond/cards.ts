import { newRecordId } from '../records/ids.js';
import type { CoverageEvaluation, OrderEvaluation } from '../hooks/evaluate.js';
import type { AnswerOptions } from '../hooks/request.js';
import { renderTemplate } from '../policy/template.js';
import type { CdsCard, CdsCoding, CdsLink } from './cds-types.js';
import { CRD_TEMP_SYSTEM } from './coverage-information.js';
import { templateValues } from './template-values.js';
import { orderLabel } from '../facts/order-view.js';
import type { CareSettingsDoc } from '../policy/types.js';
import { ruleSuggestions } from './suggestions.js';

/** CRD card type of every card this service returns (Card.source.topic SHALL be filled in). */
export function coverageInfoTopic(version: AnswerOptions['crdVersion']): CdsCoding {
  return version === '2.2'
    ? { system: 'http://terminology.hl7.org/CodeSystem/cdshooks-card-type', code: 'coverage-info', display: 'Coverage Information' }
    : { system: CRD_TEMP_SYSTEM, code: 'coverage-info', display: 'Coverage Information' };
}

/** Code system of the override reasons offered on cards. */
export const OVERRIDE_REASON_SYSTEM = 'http://crd-dry-needling.example.org/fhir/CodeSystem/override-reason';

const MATCHED_BY: Record<OrderEvaluation['match']['matchedBy'], (e: OrderEvaluation) => string> = {
  code: (e) => `matched by code (${e.match.codeLabel})`,
  'billing-option': (e) => `matched by code (${e.match.codeLabel} in the order's billing options)`,
  'unlisted-code-with-description': (e) => `matched by code and description (unlisted ${e.match.codeLabel} described as "${e.match.description}")`,
  description: (e) => `**matched by description** ("${e.match.description}"; the order carries no billing code)`,
  'unlisted-code': (e) => `possible match: unlisted ${e.match.codeLabel} without a description of the procedure`,
};

const DATE_SOURCE: Record<CoverageEvaluation['dateOfService']['source'], string> = {
  occurrenceDateTime: 'the order\'s occurrenceDateTime',
  'occurrencePeriod.start': 'the start of the order\'s occurrencePeriod',
  'occurrenceTiming.event': 'the first event of the order\'s occurrenceTiming',
  'Appointment.start': 'the Appointment\'s start',
  authoredOn: 'the order\'s authoredOn (no occurrence given)',
  today: 'today (the order gives no date)',
};

function careSettingWords(e: CoverageEvaluation): string {
  const s = e.careSetting;
  switch (s.source) {
    case 'order.category':
      return `${s.setting} (order category ${s.code})`;
    case 'order.locationCode':
      return `${s.setting} (order place of service ${s.code})`;
    case 'encounter.class':
      return `${s.setting} (${s.encounter ?? 'the Encounter'} class ${s.code})`;
    case 'none':
      return 'unknown (no order category, place of service or Encounter class says)';
  }
}

function productLineWords(e: CoverageEvaluation): string {
  const fact = e.coverage.productLine;
  if (e.determination.productLineAssumed) {
    return `unknown (${fact.evidence}): **treated as ${e.productLineDisplay}**, as the policy assumes`;
  }
  return `${e.productLineDisplay}${fact.planType ? ` ${fact.planType}` : ''}, from ${fact.evidence}`;
}

/** The markdown that explains a determination and how each fact was read. */
function detail(group: Array<{ order: OrderEvaluation; evaluation: CoverageEvaluation }>): string {
  const first = group[0]!.evaluation;
  const values = templateValues(first);
  const orders = group.map(({ order, evaluation }) => {
    const label = orderLabel(order.order.resource).replace(/[[\]*_`]/g, '');
    return (
      `- **${label}** (${order.order.reference}): ${MATCHED_BY[order.match.matchedBy](order)}; ` +
      `date of service ${evaluation.dateOfService.date} (from ${DATE_SOURCE[evaluation.dateOfService.source]}); ` +
      `care setting ${careSettingWords(evaluation)}`
    );
  });
  const coverage = first.coverage;
  return [
    renderTemplate(first.determination.rule.card.detail, values),
    `**Orders this concerns**\n${orders.join('\n')}`,
    '**How this was determined**\n' +
      [
        `- Coverage: ${coverage.reference}${first.active ? '' : ' (not active on the date of service)'}`,
        `- Payer: ${coverage.payer.payer.name}, matched by ${coverage.payer.matchedBy} (${coverage.payer.evidence})`,
        `- Product line: ${productLineWords(first)}`,
        `- Policy: ${first.determination.policy.number ? `${first.determination.policy.number} ` : ''}*${first.determination.policy.title}*, ${first.determination.version.label}; rule ${first.determination.rule.id}`,
      ].join('\n'),
  ].join('\n\n');
}

function links(e: CoverageEvaluation): CdsLink[] {
  // The rule's own links, then the policy's, then the payer's policy library; one link per URL.
  const all = [...(e.determination.rule.links ?? []), ...e.determination.policy.links, e.coverage.payer.payer.policyLibrary];
  const seen = new Set<string>();
  return all.filter((l) => !seen.has(l.url) && seen.add(l.url)).map((l) => ({ label: l.label, url: l.url, type: 'absolute' as const }));
}

/**
 * One card per Coverage per distinct determination, naming the orders it concerns
 * (CRD davinci-crd.associated-resource: 2.0.1 strings, 2.2 references). Each card comes with the
 * evaluation it reports (`basis`), for the records.
 */
export function coverageCards(
  orders: OrderEvaluation[],
  options: AnswerOptions,
  careSettings: CareSettingsDoc,
): Array<{ card: CdsCard; basis: CoverageEvaluation }> {
  const groups = new Map<string, Array<{ order: OrderEvaluation; evaluation: CoverageEvaluation }>>();
  for (const order of orders) {
    for (const evaluation of order.results) {
      const summary = renderTemplate(evaluation.determination.rule.card.summary, templateValues(evaluation));
      const key = [evaluation.coverage.reference, evaluation.determination.policy.id, evaluation.determination.rule.id, summary].join('|');
      const group = groups.get(key) ?? [];
      group.push({ order, evaluation });
      groups.set(key, group);
    }
  }
  return [...groups.values()].map((group) => {
    const e = group[0]!.evaluation;
    const { card } = e.determination.rule;
    const associated = [...new Set(group.map((g) => g.order.order.contextReference))];
    const suggestions = ruleSuggestions(e.determination.rule, [...new Set(group.map((g) => g.order))], careSettings);
    const answer: CdsCard = {
      uuid: newRecordId(),
      summary: renderTemplate(card.summary, templateValues(e)),
      indicator: card.indicator,
      detail: detail(group),
      source: { label: e.coverage.payer.payer.name, url: e.coverage.payer.payer.policyLibrary.url, topic: coverageInfoTopic(options.crdVersion) },
      links: links(e),
      ...(suggestions.length > 0 ? { suggestions, selectionBehavior: 'at-most-one' as const } : {}),
      overrideReasons: e.determination.policy.overrideReasons.map((r) => ({ system: OVERRIDE_REASON_SYSTEM, code: r.code, display: r.display })),
      extension: {
        'davinci-crd.associated-resource':
          options.crdVersion === '2.2' ? associated.map((reference) => ({ reference })) : associated,
      },
    };
    return { card: answer, basis: e };
  });
}
