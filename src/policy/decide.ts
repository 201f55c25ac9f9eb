import type { CareSettingFact } from '../facts/care-setting.js';
import type { DateOfService } from '../facts/date-of-service.js';
import type { OrderMatch } from '../facts/order-match.js';
import type { ProductLineFact } from '../facts/product-line.js';
import type { CoveragePolicyDoc, PolicyRule, ProductLine } from './types.js';

/** The facts about one order under one Coverage that a policy decides on. */
export interface DecisionFacts {
  match: OrderMatch;
  dateOfService: DateOfService;
  coverageActive: boolean;
  productLine: ProductLineFact;
  careSetting: CareSettingFact;
}

export interface Determination {
  policy: CoveragePolicyDoc;
  version: CoveragePolicyDoc['versions'][number];
  rule: PolicyRule;
  /** The product line the rule was chosen for (the policy's assumption when the Coverage did not say). */
  productLine: ProductLine | 'unknown';
  productLineAssumed: boolean;
}

/** Why a policy that could apply gave no determination (for the log; DECISIONS D1 and rule gaps). */
export interface NoDetermination { policy: CoveragePolicyDoc; why: 'before-effective' | 'no-rule' }

export type Decision = Determination | NoDetermination;

export function isDetermination(d: Decision): d is Determination {
  return 'rule' in d;
}

/** The policy version in force on a date: the latest that took effect on or before it (D1: none). */
export function versionOn(policy: CoveragePolicyDoc, date: string): CoveragePolicyDoc['versions'][number] | undefined {
  let best: CoveragePolicyDoc['versions'][number] | undefined;
  for (const v of policy.versions) if (v.effective <= date && (!best || v.effective > best.effective)) best = v;
  return best;
}

function ruleApplies(rule: PolicyRule, facts: DecisionFacts, productLine: ProductLine | 'unknown'): boolean {
  const w = rule.when;
  // A rule that says nothing about coverage speaks about active coverage only (C1 rules say false).
  if ((w.coverageActive ?? true) !== facts.coverageActive) return false;
  if (w.orderCertainty && !w.orderCertainty.includes(facts.match.certainty)) return false;
  if (w.productLines && (productLine === 'unknown' || !w.productLines.includes(productLine))) return false;
  if (w.careSettings && !w.careSettings.includes(facts.careSetting.setting)) return false;
  return true;
}

/**
 * The encoded policies applied to the facts: pure, no I/O. Each policy of the Coverage's payer that
 * speaks to the order's service and certainty gives its first matching rule, under the version in
 * force on the date of service.
 */
export function decide(policies: readonly CoveragePolicyDoc[], facts: DecisionFacts): Decision[] {
  const decisions: Decision[] = [];
  for (const policy of policies) {
    if (policy.service !== facts.match.service || !policy.scope.includes(facts.match.certainty)) continue;
    const version = versionOn(policy, facts.dateOfService.date);
    if (!version) {
      decisions.push({ policy, why: 'before-effective' });
      continue;
    }
    const assumed = facts.productLine.productLine === 'unknown' && policy.unknownProductLine !== undefined;
    const productLine = assumed ? policy.unknownProductLine! : facts.productLine.productLine;
    const rule = policy.rules.find((r) => ruleApplies(r, facts, productLine));
    decisions.push(rule ? { policy, version, rule, productLine, productLineAssumed: assumed } : { policy, why: 'no-rule' });
  }
  return decisions;
}
