/**
 * Rule 4 of the conformance checker (./conformance.ts): ext-coverage-information on systemActions. CRD 2.0.1
 * slices, cardinalities, value types and required bindings as read from the published StructureDefinition/
 * ValueSets (./crd-specs.ts); CRD 2.2.1 as the digest's deltas; invariants crd-ci-q1..q5 (2.0.1) and
 * q1..q9 (2.2.1); coverage-assertion-id / satisfied-pa-id sharing. Each update is then handed to rule 5
 * (./request-orders.ts).
 */
import { CI_URL, type CrdVersion, type Part, type VersionSpec } from './crd-specs.js';
import { arr, at, isObj, isStr, objs, show, type Json, type Sink } from './conformance-json.js';
import { checkUnchanged, type OrderEnv } from './request-orders.js';

/** What rule 4 needs from the checker's state: problems for all versions (out) or for one (vout). */
export interface CoverageEnv extends OrderEnv {
  vout: (v: CrdVersion) => Sink;
  specs: VersionSpec[];
}

const CI_TYPES = new Set(['ServiceRequest', 'MedicationRequest', 'DeviceRequest', 'NutritionOrder',
  'VisionPrescription', 'CommunicationRequest', 'Appointment', 'Encounter']);
const card = (n: number): string => (n === Infinity ? '*' : String(n));

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

export function checkCoverageInformation(actions: unknown[], env: CoverageEnv): void {
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

