import { badRequest } from '../http/errors.js';
import { compileSchema } from '../validation/validators.js';
import type { OrderUnderReview } from './orders.js';

/**
 * The elements of an in-scope order that the service reads, or returns in its update, checked for
 * their FHIR R4 JSON types (a subset of the official R4 JSON schema). A dry-needling order that gets
 * these wrong is a bad request (400, CRD 2.2 §Errors), rather than an answer built on misread data
 * or an update carrying invalid FHIR. Other elements are the client's and are returned untouched.
 */
const string = { type: 'string' };
const code = { type: 'string', pattern: '^[^\\s]+( [^\\s]+)*$' };
const dateTime = { type: 'string', pattern: '^[0-9]{4}(-(0[1-9]|1[0-2])(-(0[1-9]|[12][0-9]|3[01])(T[0-9:.]+(Z|[+-][0-9:]+)?)?)?)?$' };
const definitions = {
  coding: {
    type: 'object',
    properties: { system: string, version: string, code, display: string, userSelected: { type: 'boolean' } },
  },
  codeableConcept: {
    type: 'object',
    properties: { coding: { type: 'array', items: { $ref: '#/definitions/coding' } }, text: string, extension: { $ref: '#/definitions/extensions' } },
  },
  reference: { type: 'object', properties: { reference: string, type: string, display: string, identifier: { type: 'object' } } },
  period: { type: 'object', properties: { start: dateTime, end: dateTime } },
  extensions: {
    type: 'array',
    items: { type: 'object', required: ['url'], properties: { url: string, extension: { $ref: '#/definitions/extensions' } } },
  },
};
const concepts = { type: 'array', items: { $ref: '#/definitions/codeableConcept' } };
const references = { type: 'array', items: { $ref: '#/definitions/reference' } };

const SCHEMA = {
  definitions,
  type: 'object',
  required: ['resourceType', 'id'],
  properties: {
    resourceType: string,
    id: { type: 'string', pattern: '^[A-Za-z0-9\\-.]{1,64}$' },
    extension: { $ref: '#/definitions/extensions' },
    // ServiceRequest
    code: { $ref: '#/definitions/codeableConcept' },
    category: concepts,
    locationCode: concepts,
    insurance: references,
    encounter: { $ref: '#/definitions/reference' },
    subject: { $ref: '#/definitions/reference' },
    occurrenceDateTime: dateTime,
    occurrencePeriod: { $ref: '#/definitions/period' },
    occurrenceTiming: { type: 'object', properties: { event: { type: 'array', items: dateTime } } },
    authoredOn: dateTime,
    // Appointment
    serviceType: concepts,
    basedOn: references,
    start: dateTime,
  },
};

const validate = compileSchema(SCHEMA, { allErrors: false, strict: false });

/** A lone UTF-16 surrogate: not a Unicode character, so not representable in UTF-8 (RFC 8259, RFC 8785 I-JSON). */
const LONE_SURROGATE = /\p{Cs}/u;

/**
 * The first value in `value` that the service could not send back or fingerprint faithfully, as a
 * JSON pointer and why: a null or empty value (`null`, `""`, `[]`, `{}`), which CDS Hooks 2.0 §Use
 * of JSON and FHIR JSON forbid, and the order comes back to the client in a systemAction; a number
 * JSON.parse made infinite (`1e400`), which would come back as `null`; a string or key holding a
 * lone surrogate, which is not Unicode text and cannot be put in canonical JSON (RFC 8785) for the
 * order's fingerprint in the records.
 */
function firstUnsendable(value: unknown, at = ''): { at: string; why: string } | undefined {
  if (value === null || value === '') return { at: at || '/', why: 'a null or empty value' };
  if (typeof value === 'number') return Number.isFinite(value) ? undefined : { at: at || '/', why: 'a number too large for JSON' };
  if (typeof value === 'string') return LONE_SURROGATE.test(value) ? { at: at || '/', why: 'a lone UTF-16 surrogate (not Unicode text)' } : undefined;
  if (typeof value !== 'object') return undefined;
  const entries = Array.isArray(value) ? value.map((v, i) => [String(i), v] as const) : Object.entries(value);
  if (entries.length === 0) return { at: at || '/', why: 'a null or empty value' };
  for (const [key, child] of entries) {
    if (LONE_SURROGATE.test(key)) return { at: `${at}/${key}`, why: 'a key with a lone UTF-16 surrogate (not Unicode text)' };
    const found = firstUnsendable(child, `${at}/${key}`);
    if (found) return found;
  }
  return undefined;
}

/** Throws a 400 naming the order and the element when an in-scope order is malformed. */
export function checkOrder(order: OrderUnderReview): void {
  const bad = firstUnsendable(order.resource);
  if (bad) {
    throw badRequest(`The order ${order.reference} has ${bad.why} at ${bad.at} (CDS Hooks 2.0 §Use of JSON; FHIR JSON).`, [`${order.reference}${bad.at}`]);
  }
  if (validate(order.resource)) return;
  const error = validate.errors![0]!;
  throw badRequest(`The order ${order.reference} is not valid FHIR R4 at ${error.instancePath || '/'}: ${error.message ?? 'invalid'}.`, [
    `${order.reference}${error.instancePath}`,
  ]);
}
