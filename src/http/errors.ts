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

/**
 * The answer for anything a request handler threw: an HttpError as it is; the body parser's
 * failures (bad JSON, too large, an encoding or charset it cannot read, an aborted upload) as the
 * 4xx they are; anything else is unexpected: undefined, and the caller answers 500 and logs it.
 */
export function clientErrorOf(error: unknown, bodyLimit: string): HttpError | undefined {
  if (error instanceof HttpError) return error;
  const type = (error as { type?: string } | null)?.type;
  if (type === 'entity.parse.failed') return badRequest('The request body is not valid JSON.');
  if (type === 'entity.too.large') return payloadTooLarge(`The request body is larger than ${bodyLimit}.`);
  if (type === 'encoding.unsupported' || type === 'charset.unsupported') return unsupportedMediaType('The request body encoding is not supported.');
  const status = (error as { status?: unknown } | null)?.status;
  if (typeof status === 'number' && status >= 400 && status < 500) return new HttpError(status, badRequest('The request could not be read.').outcome);
  return undefined;
}
