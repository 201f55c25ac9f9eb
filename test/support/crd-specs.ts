/**
 * CRD reference data for the conformance checker (./conformance.ts): CRD 2.0.1 read from the published
 * StructureDefinition/ValueSets/CodeSystem JSON; CRD 2.2.1 as the digest's deltas (§2.2, §2.3). The
 * coverage-information slices feed rule 4 (./coverage-information-rules.ts), the card types rule 2.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { isObj, objs, show, type Json } from './conformance-json.js';

export type CrdVersion = '2.0.1' | '2.2.1';
export interface Part { min: number; max: number; values: string[]; codes?: Set<string>; complex?: boolean }
export interface VersionSpec {
  version: CrdVersion;
  parts: Map<string, Part>; // coverage-information sub-extensions
  detail: Map<string, Part>; // parts of the `detail` sub-extension
  reasons: Set<string>; // coverageAssertionReasons as "system|code"
  cardTypes: Set<string>;
  topicSystems: string[];
}

/** The extension rule 4 checks (and rule 5 ignores when comparing orders). */
export const CI_URL = 'http://hl7.org/fhir/us/davinci-crd/StructureDefinition/ext-coverage-information';
const TEMP = 'http://hl7.org/fhir/us/davinci-crd/CodeSystem/temp';
const THO_CARD_TYPE = 'http://terminology.hl7.org/CodeSystem/cdshooks-card-type';

const PROJECT_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** The davinci-crd-2.0.1 reference folder; throws (never silently passes) when it is missing. */
export function crdReferenceDir(): string {
  const dir = process.env.CRD_REFERENCE_DIR ?? path.resolve(PROJECT_ROOT, '../shared/reference/davinci-crd-2.0.1');
  if (!existsSync(dir)) throw new Error(`CRD 2.0.1 reference folder not found: looked in ${dir} (set CRD_REFERENCE_DIR)`);
  return dir;
}

function readJson(dir: string, file: string): Json {
  const f = path.join(dir, file);
  if (!existsSync(f)) throw new Error(`CRD reference file not found: ${f}`);
  return JSON.parse(readFileSync(f, 'utf8')) as Json;
}

function loadSpec201(dir: string): VersionSpec {
  const valueSets = new Map<string, Json>();
  for (const f of readdirSync(dir).filter((n) => /^ValueSet-.+\.json$/.test(n))) {
    const vs = readJson(dir, f);
    valueSets.set(String(vs.url), vs);
  }
  const includes = (url: string): Json[] => {
    const vs = valueSets.get(url.split('|')[0] ?? url);
    if (!vs) throw new Error(`ValueSet ${url} not found in ${dir}`);
    return objs(isObj(vs.compose) ? vs.compose.include : undefined);
  };
  const codings = (url: string): string[] =>
    includes(url).flatMap((inc) => objs(inc.concept).map((c) => `${String(inc.system)}|${String(c.code)}`));

  // Cardinalities and value types: snapshot elements Extension.extension:<name>[.extension:<part>][.value[x]]
  const sd = readJson(dir, 'StructureDefinition-ext-coverage-information.json');
  const parts = new Map<string, Part>();
  const detail = new Map<string, Part>();
  let reasons = new Set<string>();
  for (const e of objs(isObj(sd.snapshot) ? sd.snapshot.element : undefined)) {
    const m = /^Extension\.extension:([\w-]+)(?:\.extension:([\w-]+))?(\.value\[x\])?$/.exec(String(e.id));
    if (!m || (m[2] && m[1] !== 'detail')) continue;
    const table = m[2] ? detail : parts;
    const name = (m[2] ?? m[1]) as string;
    if (!m[3]) {
      table.set(name, { min: Number(e.min), max: e.max === '*' ? Infinity : Number(e.max), values: [] });
      continue;
    }
    const part = table.get(name);
    if (!part) continue;
    if (e.max === '0') { part.complex = true; continue; }
    part.values = objs(e.type).map((t) => { const c = String(t.code); return `value${c[0]?.toUpperCase()}${c.slice(1)}`; });
    const binding = isObj(e.binding) ? e.binding : {};
    if (typeof binding.valueSet !== 'string') continue;
    if (binding.strength === 'required') part.codes = new Set(codings(binding.valueSet).map((c) => c.split('|')[1] ?? c));
    if (name === 'reason') reasons = new Set(codings(binding.valueSet));
  }
  for (const required of ['coverage', 'covered', 'date', 'coverage-assertion-id', 'detail']) {
    if (!parts.has(required)) throw new Error(`${dir}: ext-coverage-information snapshot has no '${required}' slice`);
  }

  // Card types: ValueSet cardType = descendants of the filter concept (_cardType) in CodeSystem temp
  const filter = objs(includes('http://hl7.org/fhir/us/davinci-crd/ValueSet/cardType')[0]?.filter)[0];
  const cs = readJson(dir, 'CodeSystem-temp.json');
  const cardTypes = new Set<string>();
  const walk = (concepts: Json[], inside: boolean): void => {
    for (const c of concepts) {
      if (inside) cardTypes.add(String(c.code));
      walk(objs(c.concept), inside || c.code === filter?.value);
    }
  };
  walk(objs(cs.concept), false);
  if (cardTypes.size === 0) throw new Error(`${dir}: no card types found under ${show(filter?.value)}`);
  return { version: '2.0.1', parts, detail, reasons, cardTypes, topicSystems: [TEMP] };
}

/** CRD 2.2.1 per the digest §2.2/§2.3: `response` removed, `expiry-date` added, doc-needed 0..*, new codes,
 *  detail.category 1..1, detail.value may be url, contact is ContactDetail, card types in THO. */
function spec221(base: VersionSpec): VersionSpec {
  const clone = (m: Map<string, Part>) => new Map([...m].map(([k, v]) => [k, { ...v }]));
  const parts = clone(base.parts);
  const detail = clone(base.detail);
  const patch = (m: Map<string, Part>, name: string, p: Partial<Part>) => m.set(name, { ...(m.get(name) as Part), ...p });
  parts.delete('response');
  patch(parts, 'covered', { codes: new Set(['covered', 'not-covered', 'conditional', 'indeterminate']) });
  patch(parts, 'pa-needed', { codes: new Set(['no-auth', 'auth-needed', 'satisfied', 'performpa', 'conditional', 'indeterminate']) });
  patch(parts, 'doc-needed', { max: Infinity, codes: new Set(['clinical', 'admin', 'patient', 'conditional', 'indeterminate']) });
  patch(parts, 'info-needed', { codes: new Set(['performer', 'location', 'timeframe', 'contract-window', 'OTH', 'detail-code']) });
  patch(parts, 'contact', { values: ['valueContactDetail'] });
  parts.set('expiry-date', { min: 0, max: 1, values: ['valueDate'] });
  detail.set('category', { min: 1, max: 1, values: ['valueCode'], codes: new Set(['cat-limitation', 'cat-decisional', 'cat-other']) });
  patch(detail, 'value', { values: [...(detail.get('value')?.values ?? []), 'valueUrl'] });
  const reasons = new Set(['gold-card', 'no-member-found', 'no-active-coverage', 'coverage-not-found', 'auth-out-network', 'technical']
    .map((c) => `${TEMP}|${c}`));
  return { version: '2.2.1', parts, detail, reasons, cardTypes: new Set([...base.cardTypes, 'unsolicited-determ']),
    topicSystems: [THO_CARD_TYPE, TEMP] };
}

let specs: Record<CrdVersion, VersionSpec> | undefined;
/** Both versions' specs, read from crdReferenceDir() once, on first use. */
export function loadSpecs(): Record<CrdVersion, VersionSpec> {
  if (!specs) {
    const s201 = loadSpec201(crdReferenceDir());
    specs = { '2.0.1': s201, '2.2.1': spec221(s201) };
  }
  return specs;
}
