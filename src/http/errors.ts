import type { OperationOutcome, OperationOutcomeIssue } from 'fhir/r4.js';

/**
 * An error answer: an HTTP status with a FHIR OperationOutcome body (CRD 2.0.1 SHOULD, 2.2 SHALL;
 * CDS Hooks 3.0 ballot SHOULD). Built by the factories below and turned into a response in one
 * place (http/app.ts), never with a stack trace.
 */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly outcome: OperationOutcome,
  ) {
    super(outcome.issue.map((i) => i.diagnostics).join('; '));
    this.name = 'HttpError';
  }
}

export function operationOutcome(code: OperationOutcomeIssue['code'], diagnostics: string, expression?: string[]): OperationOutcome {
  const issue: OperationOutcomeIssue = { severity: 'error', code, diagnostics };
  if (expression && expression.length > 0) issue.expression = expression;
  return { resourceType: 'OperationOutcome', issue: [issue] };
}

export const badRequest = (diagnostics: string, expression?: string[]) =>
  new HttpError(400, operationOutcome('invalid', diagnostics, expression));

export const notFound = (diagnostics: string) => new HttpError(404, operationOutcome('not-found', diagnostics));

/** CDS Hooks 2.0 §HTTP Status Codes: the service cannot get the FHIR data it needs. */
export const preconditionFailed = (diagnostics: string) => new HttpError(412, operationOutcome('incomplete', diagnostics));

export const payloadTooLarge = (diagnostics: string) => new HttpError(413, operationOutcome('too-costly', diagnostics));

export const unsupportedMediaType = (diagnostics: string) => new HttpError(415, operationOutcome('not-supported', diagnostics));

export const internalError = () =>
  new HttpError(500, operationOutcome('exception', 'The service could not process this request.'));

/** The records database could not be written or read: nothing is answered that was not recorded. */
export const serviceUnavailable = (diagnostics: string) => new HttpError(503, operationOutcome('transient', diagnostics));

export const unauthorizedMetrics = () => new HttpError(401, operationOutcome('login', 'Send the metrics token as "Authorization: Bearer <token>".'));
