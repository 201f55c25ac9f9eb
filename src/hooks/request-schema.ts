import type { HookName } from './service-definitions.js';

/**
 * JSON Schemas of a CDS Hooks 2.0 request (§Calling a CDS Service) and of each hook's context
 * (CDS Hooks library STU1). Unknown fields are ignored (CRD: unknown elements SHALL be ignored);
 * resources inside the context are checked only as far as the service relies on them.
 */
const bundle = {
  type: 'object',
  required: ['resourceType'],
  properties: {
    resourceType: { const: 'Bundle' },
    // Entries are read leniently: a malformed entry is skipped, never fatal (DECISIONS §5).
    entry: { type: 'array' },
  },
};

const reference = { type: 'string', minLength: 1, maxLength: 512 };
const id = { type: 'string', minLength: 1, maxLength: 256 };
const references = { type: 'array', minItems: 1, items: reference };

const contexts: Record<HookName, object> = {
  'order-sign': {
    type: 'object',
    required: ['userId', 'patientId', 'draftOrders'],
    properties: { userId: reference, patientId: id, encounterId: id, draftOrders: bundle },
  },
  'order-select': {
    type: 'object',
    required: ['userId', 'patientId', 'selections', 'draftOrders'],
    properties: { userId: reference, patientId: id, encounterId: id, selections: references, draftOrders: bundle },
  },
  // Hook version 1.1 names; the June 2023 hyphenated names and the 1.0 `order` are tolerated.
  'order-dispatch': {
    type: 'object',
    required: ['patientId'],
    properties: {
      patientId: id,
      dispatchedOrders: references,
      'dispatched-orders': references,
      order: reference,
      performer: reference,
      fulfillmentTasks: { type: 'array', items: { type: 'object' } },
      'fulfillment-tasks': { type: 'array', items: { type: 'object' } },
    },
    anyOf: [{ required: ['dispatchedOrders'] }, { required: ['dispatched-orders'] }, { required: ['order'] }],
  },
  'appointment-book': {
    type: 'object',
    required: ['userId', 'patientId', 'appointments'],
    properties: { userId: reference, patientId: id, encounterId: id, appointments: bundle },
  },
};

export function requestSchema(hook: HookName): object {
  return {
    type: 'object',
    required: ['hook', 'hookInstance', 'context'],
    properties: {
      hook: { type: 'string', minLength: 1 },
      hookInstance: { type: 'string', minLength: 1, maxLength: 256 },
      fhirServer: { type: 'string', pattern: '^https?://[^\\s]+$', maxLength: 2048 },
      fhirAuthorization: {
        type: 'object',
        required: ['access_token', 'token_type'],
        properties: {
          access_token: { type: 'string' },
          token_type: { type: 'string' },
          expires_in: { type: 'number' },
          scope: { type: 'string' },
          subject: { type: 'string' },
          patient: { type: 'string' },
        },
      },
      context: contexts[hook],
      prefetch: { type: 'object' },
      extension: { type: 'object' },
    },
    // CDS Hooks 2.0: fhirServer is REQUIRED when fhirAuthorization is present.
    dependencies: { fhirAuthorization: ['fhirServer'] },
  };
}
