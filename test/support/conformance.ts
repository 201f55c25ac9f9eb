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
 *
 * This module holds the entry points and rules 1-3 and 6; CRD reference data is read by ./crd-specs.ts,
 * rule 4 lives in ./coverage-information-rules.ts and rule 5 in ./request-orders.ts.
 */
import { fhirSchemaErrors } from './fhir-schema.js';
import { arr, at, isObj, isStr, objs, show, type Json, type Sink } from './conformance-json.js';
import { loadSpecs, type CrdVersion } from './crd-specs.js';
import { checkCoverageInformation, type CoverageEnv } from './coverage-information-rules.js';
import { indexRequest } from './request-orders.js';

export { crdReferenceDir } from './crd-specs.js';
export type { CrdVersion } from './crd-specs.js';

export interface ConformanceContext {
  hook: string;
  request?: Record<string, unknown>;
  versions?: CrdVersion[];
}

const PRIMARY_HOOKS = new Set(['order-sign', 'order-dispatch', 'appointment-book']);
const REF = /^[A-Z][A-Za-z]+\/[A-Za-z0-9\-.]{1,64}$/; // relative reference Type/id (FHIR id syntax)
const JSON_RULE = 'CDS Hooks 2.0 Use of JSON: no null or empty elements';
const ASSOC = 'davinci-crd.associated-resource';

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
// The checker's state for one response
// ---------------------------------------------------------------------------------------------
interface Env extends CoverageEnv {
  contextRefs?: Set<string>; // Type/id named by the context (undefined when no request)
  cardUuids: Map<string, string>;
  suggestionUuids: Map<string, string>;
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
