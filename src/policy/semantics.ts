import { normaliseName } from '../facts/payer.js';
import { compilePattern, PLACEHOLDERS, renderTemplate, unknownPlaceholders, type TemplateValues } from './template.js';
import type {
  ClinicalServiceDoc,
  CoveragePolicyDoc,
  PatternEntry,
  PayerEntry,
  PayersDoc,
  ProductLinesDoc,
  RuleDetermination,
} from './types.js';

export interface SemanticProblem { file: string; path: string; message: string }

function patternProblems(entries: PatternEntry[], file: string, path: string): SemanticProblem[] {
  return entries.flatMap((entry, i) => {
    try {
      compilePattern(entry);
      return [];
    } catch (error) {
      return [{ file, path: `${path}/${i}`, message: `not a valid regular expression: ${(error as Error).message}` }];
    }
  });
}

/** Checks of the registries that JSON Schema cannot express. */
export function checkRegistrySemantics(input: {
  payers: PayersDoc;
  productLines: ProductLinesDoc;
  services: Array<{ file: string; doc: ClinicalServiceDoc }>;
}): SemanticProblem[] {
  const problems: SemanticProblem[] = [];
  const payerIds = new Set<string>();
  // An identifier or name that two payers share would let one silently take the other's members.
  const identifiers = new Map<string, string>();
  const names = new Map<string, string>();
  input.payers.payers.forEach((payer, i) => {
    if (payerIds.has(payer.id)) problems.push({ file: 'payers.json', path: `/payers/${i}/id`, message: `duplicate payer id "${payer.id}"` });
    payerIds.add(payer.id);
    payer.identifiers.forEach((id, j) => {
      const key = `${id.system.trim().toLowerCase()}|${id.value.trim()}`;
      const owner = identifiers.get(key);
      if (owner && owner !== payer.id) problems.push({ file: 'payers.json', path: `/payers/${i}/identifiers/${j}`, message: `identifier ${id.value} already identifies payer "${owner}"` });
      identifiers.set(key, payer.id);
    });
    [payer.name, payer.shortName, ...payer.aliases].forEach((alias, j) => {
      const key = normaliseName(alias);
      const owner = names.get(key);
      const path = j === 0 ? `/payers/${i}/name` : j === 1 ? `/payers/${i}/shortName` : `/payers/${i}/aliases/${j - 2}`;
      if (key === '') problems.push({ file: 'payers.json', path, message: 'a name must have letters or digits' });
      else if (owner && owner !== payer.id) problems.push({ file: 'payers.json', path, message: `name "${alias}" already names payer "${owner}"` });
      names.set(key, payer.id);
    });
    problems.push(...patternProblems(payer.planNamePatterns.map((p) => p.pattern), 'payers.json', `/payers/${i}/planNamePatterns`));
  });
  problems.push(...patternProblems(input.productLines.namePatterns.map((p) => p.pattern), 'product-lines.json', '/namePatterns'));
  const serviceIds = new Set<string>();
  for (const { file, doc } of input.services) {
    if (serviceIds.has(doc.id)) problems.push({ file, path: '/id', message: `duplicate service id "${doc.id}"` });
    serviceIds.add(doc.id);
    problems.push(...patternProblems(doc.descriptionPatterns, file, '/descriptionPatterns'));
    problems.push(...patternProblems(doc.exclusions.descriptionPatterns, file, '/exclusions/descriptionPatterns'));
  }
  return problems;
}

/**
 * The CRD coverage-information invariants a determination must keep so the default answer is valid
 * under CRD 2.0.1 and 2.2.1 at once (DECISIONS §6): pa-needed present exactly when covered is not
 * 'not-covered' (2.0.1 crd-ci-q2 expression, 2.2.1 crd-ci-q2), info-needed present exactly when
 * something is conditional (2.2.1 crd-ci-q3, 2.0.1 crd-ci-q3).
 */
function determinationProblems(d: RuleDetermination, path: string): Array<{ path: string; message: string }> {
  const problems: Array<{ path: string; message: string }> = [];
  if (d.covered === 'not-covered' && d.paNeeded !== undefined) {
    problems.push({ path: `${path}/paNeeded`, message: 'must be absent when covered is "not-covered" (CRD 2.2.1 crd-ci-q2)' });
  }
  if (d.covered !== 'not-covered' && d.paNeeded === undefined) {
    problems.push({ path: `${path}/paNeeded`, message: 'is required when covered is not "not-covered" (CRD 2.0.1 crd-ci-q2)' });
  }
  const conditional = d.covered === 'conditional' || d.paNeeded === 'conditional';
  for (const [infoPath, info] of [
    [`${path}/infoNeeded`, d.infoNeeded],
    [`${path}/crd22/infoNeeded`, d.crd22?.infoNeeded ?? d.infoNeeded],
  ] as const) {
    if (conditional && !info) problems.push({ path: infoPath, message: 'is required when something is "conditional" (CRD 2.2.1 crd-ci-q3)' });
    if (!conditional && info) problems.push({ path: infoPath, message: 'is only allowed when something is "conditional" (CRD 2.0.1 crd-ci-q3)' });
  }
  return problems;
}

/** Checks of one coverage policy that JSON Schema cannot express. */
export function checkPolicySemantics(
  policy: CoveragePolicyDoc,
  registry: { payers: PayerEntry[]; serviceIds: Set<string>; productLines: ProductLinesDoc },
): Array<{ path: string; message: string }> {
  const problems: Array<{ path: string; message: string }> = [];
  const payer = registry.payers.find((p) => p.id === policy.payer);
  if (!payer) problems.push({ path: '/payer', message: `unknown payer "${policy.payer}" (not in payers.json)` });
  if (!registry.serviceIds.has(policy.service)) problems.push({ path: '/service', message: `unknown service "${policy.service}" (not in services/)` });

  const versions = new Set<string>();
  policy.versions.forEach((v, i) => {
    if (versions.has(v.effective)) problems.push({ path: `/versions/${i}/effective`, message: 'two versions take effect on the same date' });
    versions.add(v.effective);
    if (Number.isNaN(Date.parse(v.effective))) problems.push({ path: `/versions/${i}/effective`, message: 'not a calendar date' });
  });

  // The longest values a placeholder can take, to prove every summary stays under 140 characters.
  const longestProductLine = registry.productLines.productLines.map((p) => p.display).sort((a, b) => b.length - a.length)[0] ?? '';
  const worstCase: TemplateValues = {
    payerName: payer?.name ?? policy.payer,
    payerShortName: payer?.shortName ?? policy.payer,
    policyNumber: policy.number ?? '',
    policyTitle: policy.title,
    policyVersion: policy.versions.map((v) => v.label).sort((a, b) => b.length - a.length)[0] ?? '',
    productLine: longestProductLine,
    careSetting: 'outpatient',
    dateOfService: '2026-12-31',
  };

  policy.rules.forEach((rule, i) => {
    const base = `/rules/${i}`;
    problems.push(...determinationProblems(rule.determination, `${base}/determination`));
    const texts: Array<[string, string]> = [
      [`${base}/determination/reason`, rule.determination.reason],
      [`${base}/card/summary`, rule.card.summary],
      [`${base}/card/detail`, rule.card.detail],
    ];
    for (const [path, text] of texts) {
      for (const name of unknownPlaceholders(text)) {
        problems.push({ path, message: `unknown placeholder {${name}}; known: ${PLACEHOLDERS.join(', ')}` });
      }
      if (text.includes('{policyNumber}') && policy.number === undefined) {
        problems.push({ path, message: 'uses {policyNumber} but the policy has no "number"' });
      }
    }
    const summary = renderTemplate(rule.card.summary, worstCase);
    if (summary.length >= 140) {
      problems.push({ path: `${base}/card/summary`, message: `can reach ${summary.length} characters; CDS Hooks requires fewer than 140` });
    }
    if (policy.rules.findIndex((r) => r.id === rule.id) !== i) problems.push({ path: `${base}/id`, message: `duplicate rule id "${rule.id}"` });
  });
  return problems;
}
