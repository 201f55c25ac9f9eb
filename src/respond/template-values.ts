import type { CoverageEvaluation } from '../hooks/evaluate.js';
import type { TemplateValues } from '../policy/template.js';

/** The values of the policy-text placeholders for one evaluation. */
export function templateValues(evaluation: CoverageEvaluation): TemplateValues {
  const { determination, coverage } = evaluation;
  return {
    payerName: coverage.payer.payer.name,
    payerShortName: coverage.payer.payer.shortName,
    policyNumber: determination.policy.number ?? determination.policy.title,
    policyTitle: determination.policy.title,
    policyVersion: determination.version.label,
    productLine: evaluation.productLineDisplay,
    careSetting: evaluation.careSetting.setting,
    dateOfService: evaluation.dateOfService.date,
  };
}
