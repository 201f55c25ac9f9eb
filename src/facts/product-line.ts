import type { Coverage } from 'fhir/r4.js';
import { compilePattern } from '../policy/template.js';
import type { PayerEntry, ProductLine, ProductLinesDoc } from '../policy/types.js';
import type { CodeSystemAliases } from './code-systems.js';

export interface ProductLineFact {
  productLine: ProductLine | 'unknown';
  planType?: string;
  /** Human words for where it was read, e.g. "Coverage.type (https://nahdo.org/sopt 612)". */
  evidence: string;
}

/**
 * Product line, DECISIONS §2: strong type codes (SOPT, public-program ActCodes) decide alone; then
 * plan names in Coverage.class and Coverage.type.text (payer-specific patterns first); then weak type
 * codes (v3-ActCode HMO/PPO/POS/HIP/EHCPOL: commercial unless a Medicare signal said otherwise).
 */
const patternCache = new Map<string, RegExp>();
function compiled(pattern: string): RegExp {
  let re = patternCache.get(pattern);
  if (!re) patternCache.set(pattern, (re = compilePattern(pattern)));
  return re;
}

export function classifyProductLine(
  coverage: Coverage,
  payer: PayerEntry,
  doc: ProductLinesDoc,
  systems: CodeSystemAliases,
): ProductLineFact {
  const typeCodings = Array.isArray(coverage.type?.coding) ? coverage.type.coding : [];
  const typeMatch = (strength: 'strong' | 'weak') => {
    let best: { entry: ProductLinesDoc['typeCodes'][number]; length: number; code: string; system: string } | undefined;
    for (const coding of typeCodings) {
      const system = systems.canonical(coding?.system);
      const code = typeof coding?.code === 'string' ? coding.code.trim() : undefined;
      if (!system || !code) continue;
      for (const entry of doc.typeCodes) {
        if (entry.strength !== strength || systems.canonical(entry.system) !== system) continue;
        const length = entry.code !== undefined ? (entry.code === code ? Infinity : -1) : code.startsWith(entry.prefix!) ? entry.prefix!.length : -1;
        if (length >= 0 && (!best || length > best.length)) best = { entry, length, code, system };
      }
    }
    return best;
  };
  const fromType = (m: NonNullable<ReturnType<typeof typeMatch>>): ProductLineFact => ({
    productLine: m.entry.productLine,
    ...(m.entry.planType ? { planType: m.entry.planType } : {}),
    evidence: `Coverage.type (${m.system} ${m.code})`,
  });

  const strong = typeMatch('strong');
  if (strong) return fromType(strong);

  const classes = Array.isArray(coverage.class) ? coverage.class : [];
  const names: Array<[string, string]> = [
    ...classes.flatMap((c, i) => [
      [`Coverage.class[${i}].name`, c?.name],
      [`Coverage.class[${i}].value`, c?.value],
    ] as Array<[string, unknown]>),
    ['Coverage.type.text', coverage.type?.text],
  ].filter((entry): entry is [string, string] => typeof entry[1] === 'string' && entry[1].trim() !== '');
  for (const patterns of [payer.planNamePatterns, doc.namePatterns]) {
    for (const { pattern, productLine } of patterns) {
      const re = compiled(pattern);
      const hit = names.find(([, text]) => re.test(text));
      if (hit) return { productLine, evidence: `${hit[0]} "${hit[1]}"` };
    }
  }

  const weak = typeMatch('weak');
  if (weak) return fromType(weak);
  return { productLine: 'unknown', evidence: 'neither Coverage.type nor the plan names in Coverage.class identify it' };
}
