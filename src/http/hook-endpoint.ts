import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import type { Dispatcher } from 'undici';
import type { AuthenticatedClient } from '../auth/client-authenticator.js';
import type { DecisionEngine } from '../hooks/engine.js';
import { handleHook } from '../hooks/handle.js';
import type { RequestValidator } from '../hooks/request.js';
import type { ServiceDefinition } from '../hooks/service-definitions.js';
import type { AuditEntry, Caller, RecordStore } from '../records/store.js';
import { admitClient, type AuthenticationOptions } from './authenticate.js';
import { badRequest, clientErrorOf, HttpError, internalError, notFound, serviceUnavailable } from './errors.js';
import { requestIdOf, type Logger } from './logging.js';
import type { ServiceMetrics } from './metrics.js';

/** A connect-style middleware as Express, body-parser, helmet and cors define them. */
export type Middleware = (req: IncomingMessage, res: ServerResponse, next: (error?: unknown) => void) => void;

/**
 * The headers a chain of middlewares sets on every answer (security headers, CORS), read once by
 * running them against a recording response. Only middlewares whose headers do not depend on the
 * request belong here (helmet, and cors with `origin: '*'`); one that answers by itself or calls
 * next later is refused at start-up.
 */
export function headersSetBy(middlewares: readonly Middleware[], method = 'POST'): OutgoingHttpHeaders {
  const headers = new Map<string, { name: string; value: number | string | string[] }>();
  const res = {
    setHeader: (name: string, value: number | string | string[]) => {
      headers.set(name.toLowerCase(), { name, value });
      return res;
    },
    getHeader: (name: string) => headers.get(name.toLowerCase())?.value,
    hasHeader: (name: string) => headers.has(name.toLowerCase()),
    removeHeader: (name: string) => void headers.delete(name.toLowerCase()),
    end: () => {
      throw new Error('a middleware answered by itself: its headers are not static');
    },
  };
  const req = { method, url: '/', headers: {} };
  for (const middleware of middlewares) {
    let called = false;
    middleware(req as unknown as IncomingMessage, res as unknown as ServerResponse, (error?: unknown) => {
      if (error) throw error instanceof Error ? error : new Error(String(error));
      called = true;
    });
    if (!called) throw new Error('a middleware did not call next at once: its headers are not static');
  }
  return Object.fromEntries([...headers.values()].map(({ name, value }) => [name, value]));
}

export interface HookEndpointOptions {
  /** The services answered, by id (`POST /cds-services/{id}`). */
  services: ReadonlyMap<string, ServiceDefinition>;
  engine: DecisionEngine;
  validator: RequestValidator;
  records: RecordStore;
  logger: Logger;
  metrics: ServiceMetrics;
  /** Reads the body as the rest of the service does (express.json: limit, encodings, charsets). */
  bodyParser: Middleware;
  bodyLimit: string;
  /** Headers every answer carries, as the Express middlewares set them (see {@link headersSetBy}). */
  headers: OutgoingHttpHeaders;
  /** CDS client authentication; absent means off (development only). */
  auth?: AuthenticationOptions;
  fhirTimeoutMs: number;
  /** Whether the service may query a FHIR server, given the verified client's issuer. */
  allowsFhirServer: (baseUrl: string, client: AuthenticatedClient | undefined) => boolean;
  outbound: Dispatcher;
  /** Audit entries also hold the request (less `fhirAuthorization`) and the response. */
  auditFullResources?: boolean;
}

/** What is known about a call so far, for its audit entry and log line whatever the outcome. */
interface CallState {
  readonly started: number;
  readonly requestId: string;
  readonly path: string;
  client?: AuthenticatedClient;
  service?: ServiceDefinition;
  hookInstance?: string;
}

const PREFIX = '/cds-services/';
const JSON_TYPE = 'application/json; charset=utf-8';
const FHIR_JSON_TYPE = 'application/fhir+json; charset=utf-8';

/** What the audit and the log may say about the caller: ids only. */
function callerOf(client: AuthenticatedClient | undefined): Caller {
  return client ? { iss: client.iss, jti: client.jti, ...(client.tenant ? { tenant: client.tenant } : {}) } : {};
}

/** The request as audited when full resources are configured: never the EHR's access token. */
function withoutToken(body: unknown): unknown {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) return body;
  const { fhirAuthorization: _token, ...rest } = body as Record<string, unknown>;
  return rest;
}

/**
 * `POST /cds-services/{id}`, the call EHRs make at order time, served on node:http: Express's
 * router and response helpers cost several times the service's own work (docs/performance.md),
 * so this route is the one that does not go through them. It does what the rest of the HTTP layer
 * does, with the same pieces: the request id (`X-Request-Id`), the security and CORS headers
 * (helmet and cors, read once), client authentication, the body parser (express.json), the error
 * answers (OperationOutcome), metrics, and one log line per call. Then the hook pipeline, and the
 * answer recorded before it is sent. Every call that does not end in a 200 is audited too.
 */
export class HookEndpoint {
  constructor(private readonly options: HookEndpointOptions) {}

  /** Takes the request when it is a hook call (true); anything else is left untouched (false). */
  serve(req: IncomingMessage, res: ServerResponse): boolean {
    const url = req.url;
    if (req.method !== 'POST' || url === undefined || !url.startsWith(PREFIX)) return false;
    const query = url.indexOf('?');
    const path = query === -1 ? url : url.slice(0, query);
    const rest = path.endsWith('/') ? path.slice(PREFIX.length, -1) : path.slice(PREFIX.length);
    if (rest.length === 0 || rest.includes('/')) return false; // the list, or feedback: Express
    const call: CallState = { started: performance.now(), requestId: requestIdOf(req), path };
    this.handle(req, res, call, rest).catch((error: unknown) => {
      // Only a failure while answering can land here; the socket may be gone already.
      this.options.logger.error({ event: 'error', requestId: call.requestId, path, error: error instanceof Error ? error.name : 'unknown' });
      if (!res.headersSent) res.destroy();
    });
    return true;
  }

  private async handle(req: IncomingMessage, res: ServerResponse, call: CallState, rawId: string): Promise<void> {
    const { options } = this;
    res.setHeader('X-Request-Id', call.requestId);
    const log = options.logger;
    let body: unknown;
    try {
      if (options.auth) call.client = await admitClient(options.auth, req, call.path, log, { requestId: call.requestId });
      body = await this.readBody(req, res);
      const id = decodeId(rawId);
      const service = options.services.get(id);
      if (!service) throw notFound(`No CDS service "${id}" here; see GET /cds-services.`);
      call.service = service;
      if (body === undefined) throw badRequest('The request has no body: send a CDS Hooks request as JSON.');
      await this.answer(res, call, service, body);
    } catch (error) {
      await this.refuse(res, call, error);
    }
  }

  private async answer(res: ServerResponse, call: CallState, service: ServiceDefinition, body: unknown): Promise<void> {
    const { options } = this;
    const hookCall = options.validator.parse(service, body);
    call.hookInstance = hookCall.request.hookInstance;
    const client = call.client;
    const outcome = await handleHook(hookCall, options.engine, {
      timeoutMs: options.fhirTimeoutMs,
      allows: (baseUrl) => options.allowsFhirServer(baseUrl, client),
      dispatcher: options.outbound,
      observe: options.metrics.fhirObserver,
    });
    const caller = callerOf(client);
    const latencyMs = performance.now() - call.started;
    const recordedAt = new Date().toISOString();
    const assertionIds = [...new Set(outcome.trace.assertions.map((a) => a.assertionId))];
    const audit: AuditEntry = {
      at: recordedAt,
      requestId: call.requestId,
      ...caller,
      service: service.id,
      hook: service.hook,
      hookInstance: call.hookInstance,
      status: 200,
      latencyMs,
      orders: outcome.summary.orders,
      determinations: outcome.summary.determinations,
      assertionIds,
      ...(options.auditFullResources ? { request: withoutToken(body), response: outcome.response } : {}),
    };
    // CRD: every coverage-assertion-id must be traceable, so the answer is recorded before it is sent.
    try {
      await options.records.recordAnswer({ service: service.id, hook: service.hook, hookInstance: call.hookInstance, caller, recordedAt, trace: outcome.trace, audit });
    } catch (error) {
      options.metrics.recordFailures.inc({ operation: 'answer' });
      options.logger.error({ event: 'record-failed', requestId: call.requestId, operation: 'answer', hookInstance: call.hookInstance, error: error instanceof Error ? error.name : 'unknown' });
      throw serviceUnavailable('The answer could not be recorded, so it is not given; try again.');
    }
    for (const a of outcome.trace.assertions) options.metrics.determinations.inc({ payer: a.payer, policy: a.policy, rule: a.rule, covered: a.covered });
    const ms = performance.now() - call.started;
    options.metrics.hookDuration.observe({ hook: service.hook, status: '200' }, ms / 1000);
    this.send(res, 200, JSON_TYPE, JSON.stringify(outcome.response));
    options.logger.info({
      event: 'hook',
      requestId: call.requestId,
      method: 'POST',
      path: call.path,
      status: 200,
      ...caller,
      service: service.id,
      hook: service.hook,
      hookInstance: call.hookInstance,
      cards: outcome.response.cards.length,
      systemActions: outcome.response.systemActions?.length ?? 0,
      ...outcome.summary,
      assertionIds,
      ms,
    });
  }

  /** The error answer (a 4xx, or 503/500 with an OperationOutcome), its audit entry, metric and log line. */
  private async refuse(res: ServerResponse, call: CallState, error: unknown): Promise<void> {
    const { options } = this;
    const log = options.logger;
    let answer = clientErrorOf(error, options.bodyLimit);
    if (!answer) {
      answer = internalError();
      log.error({ event: 'error', requestId: call.requestId, path: call.path, error: error instanceof Error ? `${error.name}: ${error.message}` : 'unknown' });
    }
    const latencyMs = performance.now() - call.started;
    options.metrics.hookDuration.observe({ hook: call.service?.hook ?? 'unknown', status: String(answer.status) }, latencyMs / 1000);
    try {
      await options.records.recordAudit({
        at: new Date().toISOString(),
        requestId: call.requestId,
        ...callerOf(call.client),
        ...(call.service ? { service: call.service.id, hook: call.service.hook } : {}),
        ...(call.hookInstance ? { hookInstance: call.hookInstance } : {}),
        status: answer.status,
        latencyMs,
        orders: [],
        determinations: [],
        assertionIds: [],
        problem: answer.message.slice(0, 1000),
      });
    } catch (auditError) {
      options.metrics.recordFailures.inc({ operation: 'audit' });
      log.error({ event: 'record-failed', requestId: call.requestId, operation: 'audit', error: auditError instanceof Error ? auditError.name : 'unknown' });
    }
    if (answer.status === 401) res.setHeader('WWW-Authenticate', 'Bearer');
    this.send(res, answer.status, FHIR_JSON_TYPE, JSON.stringify(answer.outcome));
    const line = { event: 'rejected', requestId: call.requestId, method: 'POST', path: call.path, status: answer.status, reason: answer.message, ms: performance.now() - call.started };
    if (answer.status < 500) log.info(line);
    else log.error(line);
  }

  /** The parsed body (`undefined` when the request has none), read by the shared body parser. */
  private readBody(req: IncomingMessage, res: ServerResponse): Promise<unknown> {
    return new Promise((resolve, reject) => {
      this.options.bodyParser(req, res, (error?: unknown) => (error ? reject(error) : resolve((req as { body?: unknown }).body)));
    });
  }

  private send(res: ServerResponse, status: number, contentType: string, text: string): void {
    if (res.headersSent || res.destroyed) return;
    res.writeHead(status, { ...this.options.headers, 'Content-Type': contentType, 'Content-Length': Buffer.byteLength(text) });
    res.end(text);
  }
}

/** The service id of the path, percent-decoded as Express decodes route parameters; a malformed escape is a 400. */
function decodeId(raw: string): string {
  if (!raw.includes('%')) return raw;
  try {
    return decodeURIComponent(raw);
  } catch {
    throw new HttpError(400, badRequest(`The path segment "${raw.slice(0, 100)}" is not valid percent-encoding.`).outcome);
  }
}
