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

/** Throws a 400 naming the order and the element when an in-scope order is malformed. */
/**
 * The first null or empty value (`null`, `""`, `[]`, `{}`) in `value`, as a JSON pointer.
 * CDS Hooks 2.0 §Use of JSON and FHIR JSON forbid them; the order comes back to the client in a
 * systemAction, so one would make the service's own answer break those rules.
 */
function firstEmpty(value: unknown, at = ''): string | undefined {
  if (value === null || value === '') return at || '/';
  if (typeof value !== 'object') return undefined;
  const entries = Array.isArray(value) ? value.map((v, i) => [String(i), v] as const) : Object.entries(value);
  if (entries.length === 0) return at || '/';
  for (const [key, child] of entries) {
    const found = firstEmpty(child, `${at}/${key}`);
    if (found) return found;
  }
  return undefined;
}

export function checkOrder(order: OrderUnderReview): void {
  const empty = firstEmpty(order.resource);
  if (empty) {
    throw badRequest(`The order ${order.reference} has a null or empty value at ${empty} (CDS Hooks 2.0 §Use of JSON; FHIR JSON).`, [
      `${order.reference}${empty}`,
    ]);
  }
  if (validate(order.resource)) return;
  const error = validate.errors![0]!;
  throw badRequest(`The order ${order.reference} is not valid FHIR R4 at ${error.instancePath || '/'}: ${error.message ?? 'invalid'}.`, [
    `${order.reference}${error.instancePath}`,
  ]);
}
