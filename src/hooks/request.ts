import type { ErrorObject, ValidateFunction } from 'ajv';
import { badRequest } from '../http/errors.js';
import { compileSchema } from '../validation/validators.js';
import { requestSchema } from './request-schema.js';
import type { HookName, ServiceDefinition } from './service-definitions.js';

export interface FhirAuthorization {
  access_token: string;
  token_type: string;
  expires_in?: number;
  scope?: string;
  subject?: string;
  patient?: string;
}

/** A CDS Hooks request that passed validation for its service. */
export interface HookRequest {
  hook: HookName;
  hookInstance: string;
  fhirServer?: string;
  fhirAuthorization?: FhirAuthorization;
  context: Record<string, unknown> & { patientId: string; encounterId?: string };
  prefetch?: Record<string, unknown>;
  extension?: Record<string, unknown>;
}

/** What the client asked of the answer (CRD §Configuration options, §Versions). */
export interface AnswerOptions {
  coverageInfo: boolean;
  maxCards: number;
  /** 'default': valid under CRD 2.0.1 and 2.2.1 at once; '2.2': CRD 2.2 forms allowed (DECISIONS §6). */
  crdVersion: 'default' | '2.2';
}

export interface HookCall { service: ServiceDefinition; request: HookRequest; options: AnswerOptions }

function describe(e: ErrorObject): string {
  const at = e.instancePath === '' ? 'the request' : e.instancePath;
  if (e.keyword === 'required') return `${at} is missing "${String(e.params.missingProperty)}"`;
  if (e.keyword === 'dependencies') return `${at}: "fhirServer" is required when "fhirAuthorization" is present`;
  if (e.keyword === 'anyOf' && e.instancePath === '/context') return `/context needs "dispatchedOrders"`;
  if (e.keyword === 'const') return `${at} must be ${JSON.stringify(e.params.allowedValue)}`;
  return `${at} ${e.message ?? 'is invalid'}`;
}

/** Validates CDS Hooks request bodies, one compiled schema per hook. */
export class RequestValidator {
  private readonly validators = new Map<HookName, ValidateFunction>();

  constructor(hooks: readonly HookName[]) {
    for (const hook of new Set(hooks)) this.validators.set(hook, compileSchema(requestSchema(hook), { allErrors: false, strict: false }));
  }

  parse(service: ServiceDefinition, body: unknown): HookCall {
    if (body === null || typeof body !== 'object' || Array.isArray(body)) {
      throw badRequest('The request body must be a JSON object (a CDS Hooks request).');
    }
    const validate = this.validators.get(service.hook)!;
    if (!validate(body)) {
      const error = validate.errors![0]!;
      throw badRequest(`Invalid CDS Hooks request: ${describe(error)}.`, [error.instancePath || '/']);
    }
    const request = body as HookRequest;
    if (request.hook !== service.hook) {
      throw badRequest(`Service "${service.id}" answers the "${service.hook}" hook, not "${request.hook}".`, ['/hook']);
    }
    return { service, request, options: answerOptions(request.extension) };
  }
}

/** Supported options are obeyed, unknown ones ignored, values of the wrong type fall back to the default. */
export function answerOptions(extension: Record<string, unknown> | undefined): AnswerOptions {
  const config = extension?.['davinci-crd.configuration'];
  const settings = config && typeof config === 'object' && !Array.isArray(config) ? (config as Record<string, unknown>) : {};
  const coverageInfo = typeof settings['coverage-info'] === 'boolean' ? settings['coverage-info'] : true;
  const maxCards =
    typeof settings['max-cards'] === 'number' && Number.isInteger(settings['max-cards']) && settings['max-cards'] >= 0
      ? settings['max-cards']
      : 10;
  const requested = extension?.['davinci-crd.requestedVersion'];
  const crdVersion = typeof requested === 'string' && /^2\.2(\.|$)/.test(requested.trim()) ? '2.2' : 'default';
  return { coverageInfo, maxCards, crdVersion };
}
