/**
 * Independent conformance check for every CDS Hooks response the service produces. Each problem is
 * "<JSON path>: <what is wrong> [<rule>]"; version-specific problems say which CRD version(s) they break.
 *
 *   Rule 1  CDS Hooks 2.0 response shape; no null/""/[]/{} (except top-level cards/systemActions: []);
 *           systemActions present for the CRD primary hooks (order-sign, order-dispatch, appointment-book).
 *   Rule 2  Cards: uuid (CRD), summary < 140, indicator, source + CRD topic, links, overrideReasons,
 *           suggestions (uuid per CRD), card.extension["davinci-crd.associated-resource"].
 *   Rule 3  Actions: type, description (REQUIRED in 2.0), resource / resourceId.
 *   Rule 4  ext-coverage-information on systemActions: CRD 2.0.1 slices, cardinalities, value types and
 *           required bindings read from the published StructureDefinition/ValueSets; CRD 2.2.1 as the
 *           digest's deltas; invariants crd-ci-q1..q5 (2.0.1) and q1..q9 (2.2.1); assertion-id sharing.
 *   Rule 5  The update is the request's order, unchanged but for coverage-information.
 *   Rule 6  FHIR R4 JSON schema for every create/update resource (./fhir-schema.ts).
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { fhirSchemaErrors } from './fhir-schema.js';

export type CrdVersion = '2.0.1' | '2.2.1';
export interface ConformanceContext {
  hook: string;
  request?: Record<string, unknown>;
  versions?: CrdVersion[];
}

type Json = Record<string, unknown>;
type Sink = (where: string, message: string, rule: string) => void;
interface Part { min: number; max: number; values: string[]; codes?: Set<string>; complex?: boolean }
interface VersionSpec {
  version: CrdVersion;
  parts: Map<string, Part>; // coverage-information sub-extensions
  detail: Map<string, Part>; // parts of the `detail` sub-extension
  reasons: Set<string>; // coverageAssertionReasons as "system|code"
  cardTypes: Set<string>;
  topicSystems: string[];
}

const CI_URL = 'http://hl7.org/fhir/us/davinci-crd/StructureDefinition/ext-coverage-information';
const TEMP = 'http://hl7.org/fhir/us/davinci-crd/CodeSystem/temp';
const THO_CARD_TYPE = 'http://terminology.hl7.org/CodeSystem/cdshooks-card-type';
const PRIMARY_HOOKS = new Set(['order-sign', 'order-dispatch', 'appointment-book']);
const CI_TYPES = new Set(['ServiceRequest', 'MedicationRequest', 'DeviceRequest', 'NutritionOrder',
  'VisionPrescription', 'CommunicationRequest', 'Appointment', 'Encounter']);
const REF = /^[A-Z][A-Za-z]+\/[A-Za-z0-9\-.]{1,64}$/; // relative reference Type/id (FHIR id syntax)
const JSON_RULE = 'CDS Hooks 2.0 Use of JSON: no null or empty elements';
const ASSOC = 'davinci-crd.associated-resource';

const isObj = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const isStr = (v: unknown): v is string => typeof v === 'string' && v.length > 0;
const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
const objs = (v: unknown): Json[] => arr(v).filter(isObj);
const at = (p: string, k: string | number): string =>
  typeof k === 'number' ? `${p}[${k}]` : /^[A-Za-z_$][\w$]*$/.test(k) ? `${p}.${k}` : `${p}['${k}']`;
const show = (v: unknown): string => (v === undefined ? 'absent' : JSON.stringify(v));
const card = (n: number): string => (n === Infinity ? '*' : String(n));

function isHttpUrl(v: unknown): boolean {
  if (typeof v !== 'string') return false;
  try {
    const u = new URL(v);
    return u.protocol === 'http:' || u.protocol === 'https:';
  } catch {
    return false;
  }
}

// ---------------------------------------------------------------------------------------------
// Reference data: CRD 2.0.1 from the published JSON; CRD 2.2.1 as deltas from the digest (§2.2, §2.3)
// ---------------------------------------------------------------------------------------------
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
function loadSpecs(): Record<CrdVersion, VersionSpec> {
  if (!specs) {
    const s201 = loadSpec201(crdReferenceDir());
    specs = { '2.0.1': s201, '2.2.1': spec221(s201) };
  }
  return specs;
}

// ---------------------------------------------------------------------------------------------
// The request: which orders it carries (for rule 5) and which it names in context (associated-resource)
// ---------------------------------------------------------------------------------------------
interface Env {
  out: Sink;
  vout: (v: CrdVersion) => Sink;
  specs: VersionSpec[];
  hook: string;
  request?: Json;
  orders: Map<string, Json>; // Type/id -> resource found in context or prefetch
  contextRefs?: Set<string>; // Type/id named by the context (undefined when no request)
  cardUuids: Map<string, string>;
  suggestionUuids: Map<string, string>;
}

function bundleResources(b: unknown): Json[] {
  if (!isObj(b)) return [];
  if (b.resourceType !== 'Bundle') return [b];
  return objs(b.entry).map((e) => e.resource).filter(isObj);
}

function indexRequest(request: Json | undefined): { orders: Map<string, Json>; refs?: Set<string> } {
  const orders = new Map<string, Json>();
  if (!request) return { orders };
  const context = isObj(request.context) ? request.context : {};
  const refs = new Set<string>();
  const add = (r: Json, fromContext: boolean) => {
    if (!isStr(r.resourceType) || !isStr(r.id)) return;
    const key = `${r.resourceType}/${r.id}`;
    if (fromContext) refs.add(key);
    if (!orders.has(key)) orders.set(key, r);
  };
  for (const r of [...bundleResources(context.draftOrders), ...bundleResources(context.appointments)]) add(r, true);
  // order-dispatch 1.1 dispatchedOrders; the older dispatched-orders (2023) and 1.0 `order` keys are tolerated too
  for (const ref of [...arr(context.dispatchedOrders), ...arr(context['dispatched-orders']), context.order]) {
    if (typeof ref === 'string') refs.add(ref);
  }
  for (const value of Object.values(isObj(request.prefetch) ? request.prefetch : {})) {
    for (const r of bundleResources(value)) add(r, false);
  }
  return { orders, refs };
}

function versionsFor(ctx: ConformanceContext): CrdVersion[] {
  if (ctx.versions?.length) return ctx.versions;
  const ext = isObj(ctx.request?.extension) ? ctx.request.extension : {};
  return ext['davinci-crd.requestedVersion'] === '2.2' ? ['2.2.1'] : ['2.0.1', '2.2.1'];
}

// ---------------------------------------------------------------------------------------------
// Rule 1: response shape and no null/empty values
// ---------------------------------------------------------------------------------------------
function checkNoEmpty(v: unknown, p: string, out: Sink, allowEmptyArray = false): void {
  if (v === null) out(p, 'null is not allowed', JSON_RULE);
  else if (v === '') out(p, 'empty string is not allowed', JSON_RULE);
  else if (Array.isArray(v)) {
    if (v.length === 0 && !allowEmptyArray) out(p, 'empty array is not allowed (omit the element)', JSON_RULE);
    v.forEach((x, i) => checkNoEmpty(x, at(p, i), out));
  } else if (isObj(v)) {
    if (Object.keys(v).length === 0) out(p, 'empty object is not allowed', JSON_RULE);
    for (const [k, x] of Object.entries(v)) checkNoEmpty(x, at(p, k), out, p === '$' && (k === 'cards' || k === 'systemActions'));
  }
}

/** Only the fields CDS Hooks 2.0 defines; anything else belongs under `extension`, which must be an object. */
function knownFields(o: Json, p: string, fields: string[], what: string, out: Sink): void {
  for (const k of Object.keys(o)) {
    if (k !== 'extension' && !fields.includes(k)) out(at(p, k), `'${k}' is not a CDS Hooks 2.0 ${what} field`, 'CDS Hooks 2.0 Extensions');
  }
  if ('extension' in o && !isObj(o.extension)) out(at(p, 'extension'), 'extension must be a JSON object', 'CDS Hooks 2.0 Extensions');
}

function requireString(o: Json, key: string, p: string, out: Sink, rule: string): void {
  if (!isStr(o[key])) out(at(p, key), `${key} is required (non-empty string), got ${show(o[key])}`, rule);
}

// ---------------------------------------------------------------------------------------------
// Rule 2: cards
// ---------------------------------------------------------------------------------------------
function checkUnique(seen: Map<string, string>, v: unknown, p: string, what: string, out: Sink): void {
  if (!isStr(v)) return;
  const first = seen.get(v);
  if (first) out(p, `${what} uuid '${v}' is already used at ${first}`, 'CRD cards: uuids identify cards/suggestions in feedback');
  else seen.set(v, p);
}

function checkCard(c: unknown, p: string, env: Env): void {
  const { out } = env;
  const R = 'CDS Hooks 2.0 Card';
  if (!isObj(c)) return out(p, 'a card must be an object', R);
  knownFields(c, p, ['uuid', 'summary', 'detail', 'indicator', 'source', 'suggestions', 'selectionBehavior', 'overrideReasons', 'links'], 'Card', out);
  requireString(c, 'uuid', p, out, 'CRD 2.2 CRDHooksResponseBase cards.uuid 1..1');
  checkUnique(env.cardUuids, c.uuid, at(p, 'uuid'), 'card', out);
  if (!isStr(c.summary)) out(at(p, 'summary'), `summary is required (string), got ${show(c.summary)}`, R);
  else if ([...c.summary].length >= 140) out(at(p, 'summary'), `summary must be shorter than 140 characters (has ${[...c.summary].length})`, R);
  if (!['info', 'warning', 'critical'].includes(c.indicator as string))
    out(at(p, 'indicator'), `indicator must be info|warning|critical, got ${show(c.indicator)}`, R);
  if ('detail' in c) requireString(c, 'detail', p, out, R);
  checkSource(c.source, at(p, 'source'), env);

  if ('links' in c && !Array.isArray(c.links)) out(at(p, 'links'), 'links must be an array', R);
  objs(c.links).forEach((l, i) => {
    const lp = at(at(p, 'links'), i);
    knownFields(l, lp, ['label', 'url', 'type', 'appContext', 'autolaunchable'], 'Link', out);
    requireString(l, 'label', lp, out, 'CDS Hooks 2.0 Link');
    if (!isHttpUrl(l.url)) out(at(lp, 'url'), `url must be an absolute http(s) URL, got ${show(l.url)}`, 'CDS Hooks 2.0 Link');
    if (!['absolute', 'smart'].includes(l.type as string)) out(at(lp, 'type'), `type must be absolute|smart, got ${show(l.type)}`, 'CDS Hooks 2.0 Link');
    if ('appContext' in l && (l.type !== 'smart' || typeof l.appContext !== 'string'))
      out(at(lp, 'appContext'), 'appContext is only allowed (as a string) on smart links', 'CDS Hooks 2.0 Link');
    if ('autolaunchable' in l && typeof l.autolaunchable !== 'boolean') out(at(lp, 'autolaunchable'), 'autolaunchable must be a boolean', 'CDS Hooks 2.0 Link');
  });

  if ('overrideReasons' in c && !Array.isArray(c.overrideReasons)) out(at(p, 'overrideReasons'), 'overrideReasons must be an array', R);
  arr(c.overrideReasons).forEach((o, i) => {
    const op = at(at(p, 'overrideReasons'), i);
    if (!isObj(o)) return out(op, 'an override reason must be a Coding object', R);
    knownFields(o, op, ['code', 'system', 'display'], 'Coding', out);
    for (const k of ['code', 'system', 'display']) requireString(o, k, op, out, 'CDS Hooks 2.0 Card.overrideReasons: Coding with display');
  });

  if ('suggestions' in c || 'selectionBehavior' in c) {
    if (!['at-most-one', 'any'].includes(c.selectionBehavior as string))
      out(at(p, 'selectionBehavior'), `selectionBehavior must be at-most-one|any when suggestions are present, got ${show(c.selectionBehavior)}`, R);
  }
  if ('suggestions' in c && !Array.isArray(c.suggestions)) out(at(p, 'suggestions'), 'suggestions must be an array', R);
  let recommended = 0;
  arr(c.suggestions).forEach((s, i) => {
    const sp = at(at(p, 'suggestions'), i);
    if (!isObj(s)) return out(sp, 'a suggestion must be an object', R);
    knownFields(s, sp, ['label', 'uuid', 'isRecommended', 'actions'], 'Suggestion', out);
    requireString(s, 'label', sp, out, 'CDS Hooks 2.0 Suggestion');
    requireString(s, 'uuid', sp, out, 'CRD cards: Suggestion.uuid SHALL be populated');
    checkUnique(env.suggestionUuids, s.uuid, at(sp, 'uuid'), 'suggestion', out);
    if ('isRecommended' in s && typeof s.isRecommended !== 'boolean') out(at(sp, 'isRecommended'), 'isRecommended must be a boolean', R);
    if (s.isRecommended === true) recommended++;
    if ('actions' in s && !Array.isArray(s.actions)) out(at(sp, 'actions'), 'actions must be an array', 'CDS Hooks 2.0 Suggestion');
    arr(s.actions).forEach((a, j) => checkAction(a, at(at(sp, 'actions'), j), env));
  });
  if (recommended > 1 && c.selectionBehavior !== 'any')
    out(at(p, 'suggestions'), `${recommended} suggestions are isRecommended; only one may be unless selectionBehavior is any`, 'CDS Hooks 2.0 Suggestion.isRecommended');

  // CRD deviations: card.extension["davinci-crd.associated-resource"] names context orders
  const ext = isObj(c.extension) ? c.extension : {};
  if (!(ASSOC in ext)) return;
  const ap = at(at(p, 'extension'), ASSOC);
  if (!Array.isArray(ext[ASSOC])) return out(ap, 'must be an array', 'CRD associated-resource');
  arr(ext[ASSOC]).forEach((e, i) => {
    const ref = typeof e === 'string' ? e : isObj(e) ? e.reference : undefined;
    if (typeof ref !== 'string' || !REF.test(ref))
      out(at(ap, i), `must be 'Type/id' (2.0.1) or {"reference": 'Type/id'} (2.2), got ${show(e)}`, 'CRD associated-resource');
    else if (env.contextRefs && !env.contextRefs.has(ref))
      out(at(ap, i), `${ref} is not an order in the request context`, 'CRD associated-resource: links a card to context resources');
  });
}

function checkSource(s: unknown, p: string, env: Env): void {
  const { out } = env;
  const R = 'CDS Hooks 2.0 Source';
  if (!isObj(s)) return out(p, 'source is required (object)', R);
  knownFields(s, p, ['label', 'url', 'icon', 'topic'], 'Source', out);
  requireString(s, 'label', p, out, R);
  for (const k of ['url', 'icon']) if (k in s && !isHttpUrl(s[k])) out(at(p, k), `${k} must be an absolute http(s) URL, got ${show(s[k])}`, R);
  const tp = at(p, 'topic');
  const topic = s.topic;
  if (!isObj(topic)) return out(tp, 'topic is required: a Coding with a CRD card type', 'CRD cards: Card.source.topic SHALL be populated');
  knownFields(topic, tp, ['system', 'code', 'display'], 'Coding', out);
  if (!isStr(topic.system) || !isStr(topic.code)) return out(tp, 'topic needs system and code strings', 'CDS Hooks 2.0 Coding');
  const systems = [...new Set(env.specs.flatMap((v) => v.topicSystems))];
  if (!systems.includes(topic.system))
    out(at(tp, 'system'), `topic.system must be ${systems.join(' or ')}, got ${show(topic.system)}`, 'CRD ValueSet cardType');
  for (const v of env.specs) {
    if (!v.cardTypes.has(topic.code)) env.vout(v.version)(at(tp, 'code'), `'${topic.code}' is not a CRD card type`, 'ValueSet cardType');
  }
}

// ---------------------------------------------------------------------------------------------
// Rules 3 and 6: actions, and the R4 schema for their resources
// ---------------------------------------------------------------------------------------------
function pointerToPath(base: string, pointer: string): string {
  return pointer.split('/').slice(1).map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
    .reduce<string>((p, s) => at(p, /^\d+$/.test(s) ? Number(s) : s), base);
}

function checkAction(a: unknown, p: string, env: Env): void {
  const { out } = env;
  const R = 'CDS Hooks 2.0 Action';
  if (!isObj(a)) return out(p, 'an action must be an object', R);
  knownFields(a, p, ['type', 'description', 'resource', 'resourceId'], 'Action', out);
  if (!['create', 'update', 'delete'].includes(a.type as string)) out(at(p, 'type'), `type must be create|update|delete, got ${show(a.type)}`, R);
  requireString(a, 'description', p, out, 'CDS Hooks 2.0 Action.description REQUIRED');
  if (a.type === 'create' || a.type === 'update') {
    const rp = at(p, 'resource');
    if (!isObj(a.resource) || !isStr(a.resource.resourceType)) out(rp, `${a.type} needs a FHIR resource with a resourceType`, R);
    else for (const e of fhirSchemaErrors(a.resource)) out(pointerToPath(rp, e.pointer), e.message, 'FHIR R4 JSON schema');
  }
  if ((a.type === 'delete' || 'resourceId' in a) && !(typeof a.resourceId === 'string' && REF.test(a.resourceId))) {
    out(at(p, 'resourceId'), `resourceId must be a relative reference 'Type/id', got ${show(a.resourceId)}`, R);
  }
}

// ---------------------------------------------------------------------------------------------
// Rules 4 and 5: coverage information on systemActions
// ---------------------------------------------------------------------------------------------
function checkValue(s: Json, p: string, name: string, part: Part, out: Sink): void {
  const R = 'ext-coverage-information value type';
  if ('extension' in s) out(at(p, 'extension'), `${name} takes a value, not nested extensions`, R);
  const keys = Object.keys(s).filter((k) => k.startsWith('value'));
  const key = keys[0];
  if (keys.length !== 1 || !key || !part.values.includes(key)) {
    return out(p, `${name} needs exactly one value of ${part.values.join('|')}, found ${keys.join(',') || 'none'}`, R);
  }
  const v = s[key];
  const vp = at(p, key);
  const ok: Record<string, () => boolean> = {
    valueCode: () => isStr(v),
    valueString: () => isStr(v),
    valueCanonical: () => isStr(v),
    valueUrl: () => isStr(v),
    valueBoolean: () => typeof v === 'boolean',
    valueDate: () => isStr(v) && /^\d{4}-\d{2}-\d{2}$/.test(v) && new Date(`${v}T00:00:00Z`).getUTCDate() === Number(v.slice(8)),
    valueReference: () => isObj(v) && isStr(v.reference) && (name !== 'coverage' || /(^|\/)Coverage\/[A-Za-z0-9\-.]{1,64}$/.test(v.reference)),
    valueCoding: () => isObj(v) && isStr(v.system) && isStr(v.code),
    valueCodeableConcept: () => isObj(v) && (objs(v.coding).length > 0 || isStr(v.text)),
  };
  const check = ok[key] ?? (() => isObj(v));
  if (!check()) return out(vp, `invalid ${key} ${show(v)}`, R);
  if (part.codes && !part.codes.has(v as string))
    out(vp, `'${String(v)}' is not in the required value set (${[...part.codes].join('|')})`, `${name} required binding`);
}

/** Checks one list of sub-extensions against a slice table; returns the sub-extensions by url. */
function checkParts(container: Json, p: string, what: string, table: Map<string, Part>, spec: VersionSpec, out: Sink): Map<string, Json[]> {
  const found = new Map<string, Json[]>();
  for (const k of Object.keys(container).filter((x) => x.startsWith('value'))) out(at(p, k), 'a complex extension has no value[x]', 'FHIR ext-1');
  if (!Array.isArray(container.extension)) {
    out(p, `${what} needs sub-extensions`, 'ext-coverage-information');
    return found;
  }
  container.extension.forEach((s, k) => {
    const sp = at(at(p, 'extension'), k);
    if (!isObj(s) || !isStr(s.url)) return out(sp, 'a sub-extension needs a url', 'FHIR Extension.url');
    const part = table.get(s.url);
    if (!part) return out(at(sp, 'url'), `'${s.url}' is not a sub-extension of ${what}`, 'ext-coverage-information slices');
    found.set(s.url, [...(found.get(s.url) ?? []), s]);
    if (part.complex) checkParts(s, sp, s.url, spec.detail, spec, out);
    else checkValue(s, sp, s.url, part, out);
  });
  for (const [name, part] of table) {
    const n = found.get(name)?.length ?? 0;
    if (n < part.min || n > part.max) out(p, `${what} has ${name} ${n} time(s), allowed ${part.min}..${card(part.max)}`, 'ext-coverage-information cardinality');
  }
  return found;
}

function checkInvariants(found: Map<string, Json[]>, p: string, spec: VersionSpec, out: Sink): void {
  const codes = (n: string): string[] => (found.get(n) ?? []).map((s) => s.valueCode).filter(isStr);
  const has = (n: string): boolean => (found.get(n)?.length ?? 0) > 0;
  const [covered, pa, doc, info, purpose] = ['covered', 'pa-needed', 'doc-needed', 'info-needed', 'doc-purpose'].map(codes) as [string[], string[], string[], string[], string[]];
  const decisions = [...covered, ...pa, ...doc];
  const hasReason = has('reason');
  // A reason must carry a coding from coverageAssertionReasons or text (extensible binding; CRD 2.2.1 crd-ci-q7)
  (found.get('reason') ?? []).forEach((r) => {
    const cc = isObj(r.valueCodeableConcept) ? r.valueCodeableConcept : {};
    const inVs = objs(cc.coding).some((c) => spec.reasons.has(`${String(c.system)}|${String(c.code)}`));
    if (!inVs && !isStr(cc.text))
      out(p, `reason ${show(cc.coding)} is outside coverageAssertionReasons and has no text`, spec.version === '2.2.1' ? 'crd-ci-q7' : 'reason extensible binding');
  });
  if (spec.version === '2.0.1') {
    // CRD 2.0.1 crd-ci-q1..q5, as the StructureDefinition's FHIRPath expressions say
    if ((has('questionnaire') || has('response')) && !(has('doc-needed') && doc.every((d) => d !== 'no-doc')))
      out(p, 'questionnaire/response need doc-needed', 'crd-ci-q1');
    if (covered.some((c) => c !== 'not-covered') && !has('pa-needed')) out(p, `pa-needed is required when covered is ${covered.join(',')}`, 'crd-ci-q2');
    if (has('info-needed') && !decisions.includes('conditional')) out(p, 'info-needed needs covered, pa-needed or doc-needed to be conditional', 'crd-ci-q3');
    if (pa.includes('satisfied') && purpose.includes('PA')) out(p, "doc-purpose 'PA' is not allowed when pa-needed is satisfied", 'crd-ci-q4');
    if (pa.includes('satisfied') !== has('satisfied-pa-id')) out(p, 'satisfied-pa-id must be present exactly when pa-needed is satisfied', 'crd-ci-q5');
    return;
  }
  // CRD 2.2.1 crd-ci-q1..q9 (digest §2.2)
  if (has('questionnaire') && !has('doc-needed')) out(p, 'questionnaire needs doc-needed', 'crd-ci-q1');
  if (covered.includes('not-covered') && has('pa-needed')) out(p, 'pa-needed must be absent when covered is not-covered', 'crd-ci-q2');
  // q3's text says "if and only if"; its expression (checked here) only goes conditional => info-needed
  if (decisions.includes('conditional') && !has('info-needed'))
    out(p, 'info-needed is required when covered, pa-needed or doc-needed is conditional', 'crd-ci-q3');
  // q4's expression names 'noauth' [sic] (and 'not-covered', which q2 already keeps off pa-needed): read as no-auth
  if (pa.some((c) => ['satisfied', 'no-auth', 'noauth'].includes(c)) && purpose.includes('withpa'))
    out(p, `doc-purpose withpa is not allowed when pa-needed is ${pa.join(',')}`, 'crd-ci-q4');
  if (pa.includes('satisfied') !== has('satisfied-pa-id')) out(p, 'satisfied-pa-id must be present exactly when pa-needed is satisfied', 'crd-ci-q5');
  if (info.includes('OTH') && !hasReason) out(p, 'reason is required when info-needed is OTH', 'crd-ci-q6');
  if (purpose.some((c) => c !== 'conditional') && !hasReason) out(p, 'reason is required when doc-purpose is present', 'crd-ci-q8');
  if (decisions.includes('indeterminate') && !hasReason) out(p, 'reason is required when an assertion is indeterminate', 'crd-ci-q9');
}

const subValue = (ext: Json, url: string, key: string): string | undefined => {
  const v = objs(ext.extension).find((s) => s.url === url)?.[key];
  return typeof v === 'string' ? v : isObj(v) && typeof v.reference === 'string' ? v.reference : undefined;
};

function stripCoverageInfo(r: Json): Json {
  const copy: Json = { ...r };
  const kept = arr(r.extension).filter((e) => !(isObj(e) && e.url === CI_URL));
  if (kept.length) copy.extension = kept;
  else delete copy.extension;
  return copy;
}

function diffJson(a: unknown, b: unknown, p: string, found: [string, string][]): void {
  if (found.length >= 10) return;
  if (Array.isArray(a) && Array.isArray(b) && a.length === b.length) a.forEach((x, i) => diffJson(x, b[i], at(p, i), found));
  else if (isObj(a) && isObj(b)) for (const k of new Set([...Object.keys(a), ...Object.keys(b)])) diffJson(a[k], b[k], at(p, k), found);
  else if (JSON.stringify(a) !== JSON.stringify(b)) found.push([p, `was ${show(a)} in the request, now ${show(b)}`]);
}

function checkCoverageInformation(actions: unknown[], env: Env): void {
  const { out } = env;
  const idOwners = new Map<string, Set<string>>(); // coverage-assertion-id / satisfied-pa-id -> coverage refs
  const targets = new Map<string, string>();
  actions.forEach((a, i) => {
    if (!isObj(a) || !isObj(a.resource)) return;
    const p = `$.systemActions[${i}]`;
    const rp = at(p, 'resource');
    const res = a.resource;
    const reps = arr(res.extension).map((e, j) => [e, j] as const).filter((x): x is readonly [Json, number] => isObj(x[0]) && x[0].url === CI_URL);
    if (reps.length === 0) return;
    const R = 'CRD coverage information is an update systemAction (2.2 CRDHooksResponse-coverageInformation)';
    if (a.type !== 'update') out(at(p, 'type'), `a systemAction carrying coverage-information must be type update, got ${show(a.type)}`, R);
    if ('resourceId' in a) out(at(p, 'resourceId'), 'not allowed on a coverage-information update', R);
    if (!CI_TYPES.has(res.resourceType as string))
      out(at(rp, 'resourceType'), `coverage-information is not allowed on ${show(res.resourceType)}`, 'ext-coverage-information context');
    const key = `${String(res.resourceType)}/${String(res.id)}`;
    if (!isStr(res.id)) out(at(rp, 'id'), 'the updated order needs its id', R);
    else if (targets.has(key)) out(rp, `${key} is already updated at ${targets.get(key)}`, R);
    else targets.set(key, rp);

    const perCoverage = new Map<string, Set<string>>();
    for (const [ext, j] of reps) {
      const ep = at(at(rp, 'extension'), j);
      for (const spec of env.specs) {
        const vout = env.vout(spec.version);
        checkInvariants(checkParts(ext, ep, 'coverage-information', spec.parts, spec, vout), ep, spec, vout);
      }
      const cov = subValue(ext, 'coverage', 'valueReference');
      for (const idKey of ['coverage-assertion-id', 'satisfied-pa-id']) {
        const id = subValue(ext, idKey, 'valueString');
        if (!cov || !id) continue;
        const owners = idOwners.get(`${idKey} '${id}'`) ?? new Set<string>();
        idOwners.set(`${idKey} '${id}'`, owners.add(cov));
        if (idKey === 'coverage-assertion-id') perCoverage.set(cov, (perCoverage.get(cov) ?? new Set<string>()).add(id));
      }
    }
    // Same coverage within one resource: one shared id (SHALL in 2.0.1, MAY in 2.2)
    if (env.specs.some((s) => s.version === '2.0.1')) {
      for (const [cov, ids] of perCoverage) {
        if (ids.size > 1)
          env.vout('2.0.1')(at(rp, 'extension'), `repetitions for ${cov} must share one coverage-assertion-id, found ${[...ids].join(', ')}`, 'ext-coverage-information repetitions');
      }
    }
    checkUnchanged(res, key, rp, env);
  });
  for (const [id, covs] of idOwners) {
    if (covs.size > 1)
      out('$.systemActions', `${id} is used for different coverages (${[...covs].join(', ')})`, 'CRD ext-coverage-information: different coverages SHALL have distinct ids');
  }
}

/** Rule 5: the update is the request's order, unchanged but for coverage-information (CRD 2.2 SHALL). */
function checkUnchanged(res: Json, key: string, rp: string, env: Env): void {
  if (!env.request) return;
  const original = env.orders.get(key);
  if (!original) {
    if (env.hook === 'order-sign' || env.hook === 'order-select')
      env.out(rp, `${key} is not an order in the request`, 'CRD hooks: coverage information updates a context order');
    return;
  }
  const found: [string, string][] = [];
  diffJson(stripCoverageInfo(original), stripCoverageInfo(res), rp, found);
  for (const [where, msg] of found) env.out(where, msg, 'CRD 2.2: nothing but coverage-information may change in the update');
}

// ---------------------------------------------------------------------------------------------
// Entry points
// ---------------------------------------------------------------------------------------------
export function conformanceProblems(response: unknown, ctx: ConformanceContext): string[] {
  const plain: string[] = [];
  const tagged = new Map<string, { where: string; message: string; rule: string; versions: CrdVersion[] }>();
  const out: Sink = (where, message, rule) => { plain.push(`${where}: ${message} [${rule}]`); };
  const vout = (v: CrdVersion): Sink => (where, message, rule) => {
    const k = `${where}\u0000${message}\u0000${rule}`;
    const entry = tagged.get(k) ?? { where, message, rule, versions: [] };
    if (!entry.versions.includes(v)) entry.versions.push(v);
    tagged.set(k, entry);
  };
  const all = loadSpecs();
  const { orders, refs } = indexRequest(ctx.request);
  const env: Env = { out, vout, specs: versionsFor(ctx).map((v) => all[v]), hook: ctx.hook, orders,
    request: ctx.request, contextRefs: refs, cardUuids: new Map(), suggestionUuids: new Map() };

  if (!isObj(response)) return [`$: the response must be a JSON object, got ${show(response)} [CDS Hooks 2.0 Response]`];
  checkNoEmpty(response, '$', out);
  knownFields(response, '$', ['cards', 'systemActions'], 'Response', out);
  if (!Array.isArray(response.cards)) out('$.cards', `cards is required and must be an array, got ${show(response.cards)}`, 'CDS Hooks 2.0 Response');
  if ('systemActions' in response && !Array.isArray(response.systemActions)) out('$.systemActions', 'systemActions must be an array', 'CDS Hooks 2.0 Response');
  if (!('systemActions' in response) && PRIMARY_HOOKS.has(ctx.hook))
    out('$.systemActions', `systemActions must be present (an empty array is fine) for ${ctx.hook}`, 'CRD primary hooks; Inferno crd_service_response_validation');
  arr(response.cards).forEach((c, i) => checkCard(c, `$.cards[${i}]`, env));
  arr(response.systemActions).forEach((a, i) => checkAction(a, `$.systemActions[${i}]`, env));
  checkCoverageInformation(arr(response.systemActions), env);
  const versioned = [...tagged.values()].map((t) => `${t.where}: ${t.message} [CRD ${t.versions.join(', ')} ${t.rule}]`);
  return [...plain, ...versioned];
}

export function expectConformant(response: unknown, ctx: ConformanceContext): void {
  const problems = conformanceProblems(response, ctx);
  if (problems.length === 0) return;
  throw new Error(`${ctx.hook} response is not conformant (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n  - ${problems.join('\n  - ')}`);
}
