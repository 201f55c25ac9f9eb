import cors from 'cors';
import express, { type ErrorRequestHandler, type Request, type RequestHandler, type Response } from 'express';
import helmet from 'helmet';
import type { Dispatcher } from 'undici';
import type { AuthenticatedClient, ClientAuthenticator } from '../auth/client-authenticator.js';
import { parseFeedback } from '../feedback/feedback.js';
import { FhirServerAllowlist } from '../fhir/allowlist.js';
import { boundedDispatcher } from '../fhir/capped-fetch.js';
import { cardViewRouter, type CardViewOptions } from '../card-view/router.js';
import { DecisionEngine } from '../hooks/engine.js';
import { handleHook } from '../hooks/handle.js';
import { RequestValidator } from '../hooks/request.js';
import { serviceDefinitions, type ServiceDefinition } from '../hooks/service-definitions.js';
import type { PolicyCatalog } from '../policy/catalog.js';
import type { AuditEntry, Caller, RecordStore } from '../records/store.js';
import { authenticatedClient, requireClient } from './authenticate.js';
import { badRequest, HttpError, internalError, notFound, payloadTooLarge, serviceUnavailable, unsupportedMediaType } from './errors.js';
import { createLogger, requestLogging, type Logger } from './logging.js';
import { ServiceMetrics } from './metrics.js';
import { operationsRoutes } from './operations.js';
import { recordsRoutes } from './records-routes.js';

export interface AppOptions {
  catalog: PolicyCatalog;
  fhirTimeoutMs: number;
  bodyLimit: string;
  /** The records database: coverage assertions, cards, feedback and the audit log. */
  records: RecordStore;
  /** JSON logs (pino), ids and codes only; silent by default. */
  logger?: Logger;
  /** Prometheus metrics; a fresh registry by default. */
  metrics?: ServiceMetrics;
  /** When set, `/metrics` needs `Authorization: Bearer <token>`. */
  metricsToken?: string;
  /** Audit entries also hold the request (less `fhirAuthorization`) and the response. Off by default: they hold PHI. */
  auditFullResources?: boolean;
  /** CDS client authentication; absent means off (development only). */
  auth?: { authenticator: ClientAuthenticator; publicBaseUrl?: string };
  /** FHIR servers the service may query besides each issuer's own; empty by default. */
  fhirAllowlist?: FhirServerAllowlist;
  /** Bounded outbound HTTP for FHIR queries. */
  outbound?: Dispatcher;
  /** The card view (a demo EHR page, src/card-view/) at /card-view; absent: not served. */
  cardView?: Omit<CardViewOptions, 'catalog' | 'log'>;
}

function sendError(res: Response, error: HttpError): void {
  res.status(error.status).type('application/fhir+json').send(JSON.stringify(error.outcome));
}

const HOOK_PATH = /^\/cds-services\/[^/]+\/?$/;

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

/** What the route has learnt about a hook call, for the audit entry when it ends in an error. */
interface HookProgress {
  started: number;
  service?: string;
  hook?: string;
  hookInstance?: string;
}

const progressOf = (res: Response): HookProgress => res.locals as HookProgress;
const elapsedMs = (res: Response): number => performance.now() - progressOf(res).started;

/**
 * The HTTP layer: discovery, one POST route per service, feedback, the records and operations
 * endpoints, CORS for browser clients such as the public CDS Hooks Sandbox (preflights included,
 * no credentials), and one error handler that turns every failure into a 4xx (or a 503 when the
 * records cannot be written) with an OperationOutcome, never a stack trace. Every answer to a
 * hook is recorded before it is sent.
 */
export function createApp(options: AppOptions): express.Express {
  const engine = new DecisionEngine(options.catalog);
  const definitions = serviceDefinitions(options.catalog);
  const validator = new RequestValidator(definitions.map((s) => s.hook));
  const services = new Map<string, ServiceDefinition>(definitions.map((s) => [s.id, s]));
  const logger = options.logger ?? createLogger({ level: 'silent' });
  const metrics = options.metrics ?? new ServiceMetrics();
  const records = options.records;
  const allowlist = options.fhirAllowlist ?? new FhirServerAllowlist([]);
  const outbound = options.outbound ?? boundedDispatcher({ maxResponseBytes: 5 * 1024 * 1024, connectTimeoutMs: options.fhirTimeoutMs });
  const authenticate: RequestHandler = options.auth
    ? requireClient({ ...options.auth, onFailure: (reason) => metrics.authFailed(reason) })
    : (_req, _res, next) => next();
  const issuerServers = new Map<string, FhirServerAllowlist>();
  const serversOf = (fhirServers: string[]): FhirServerAllowlist => {
    const key = fhirServers.join(',');
    let list = issuerServers.get(key);
    if (!list) issuerServers.set(key, (list = new FhirServerAllowlist(fhirServers)));
    return list;
  };

  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.use((_req, res, next) => {
    progressOf(res).started = performance.now();
    next();
  });
  app.use(requestLogging(logger));
  // Security headers. The API is read cross-origin by browser clients (the CDS Hooks Sandbox), so
  // its resources are not restricted to same-origin readers.
  app.use(helmet({ crossOriginResourcePolicy: { policy: 'cross-origin' } }));
  app.use(
    cors({
      origin: '*',
      methods: ['GET', 'POST', 'OPTIONS'],
      allowedHeaders: ['Authorization', 'Content-Type', 'Accept', 'X-Request-Id'],
      exposedHeaders: ['X-Request-Id'],
      maxAge: 600,
    }),
  );

  app.use(operationsRoutes({ records, catalog: options.catalog, metrics, ...(options.metricsToken ? { metricsToken: options.metricsToken } : {}) }));
  app.get('/', (_req, res) => res.redirect(302, '/cds-services'));
  // CDS Hooks 2.0: discovery, service calls and feedback are all authenticated (preflights are not: CORS answers them first).
  app.use('/cds-services', authenticate);
  app.get('/cds-services', (_req, res) => {
    res.json({ services: definitions });
  });
  app.use(recordsRoutes(records, authenticate, metrics));

  // Any content type is read as JSON: curl users and some EHRs omit or mislabel it.
  const json = express.json({ limit: options.bodyLimit, type: () => true, strict: false });
  app.post('/cds-services/:id', json, async (req: Request, res: Response) => {
    const progress = progressOf(res);
    const service = services.get(String(req.params.id));
    if (!service) throw notFound(`No CDS service "${String(req.params.id)}" here; see GET /cds-services.`);
    Object.assign(progress, { service: service.id, hook: service.hook });
    if (req.body === undefined) throw badRequest('The request has no body: send a CDS Hooks request as JSON.');
    const call = validator.parse(service, req.body);
    progress.hookInstance = call.request.hookInstance;
    const client = authenticatedClient(req);
    const extra = client ? serversOf(client.fhirServers) : undefined;
    const outcome = await handleHook(call, engine, {
      timeoutMs: options.fhirTimeoutMs,
      allows: (baseUrl) => allowlist.allows(baseUrl, extra),
      dispatcher: outbound,
      observe: metrics.fhirObserver,
    });
    const caller = callerOf(client);
    const latencyMs = elapsedMs(res);
    const recordedAt = new Date().toISOString();
    const audit: AuditEntry = {
      at: recordedAt,
      requestId: String(req.id),
      ...caller,
      service: service.id,
      hook: service.hook,
      hookInstance: call.request.hookInstance,
      status: 200,
      latencyMs,
      orders: outcome.summary.orders,
      determinations: outcome.summary.determinations,
      assertionIds: [...new Set(outcome.trace.assertions.map((a) => a.assertionId))],
      ...(options.auditFullResources ? { request: withoutToken(req.body), response: outcome.response } : {}),
    };
    // CRD: every coverage-assertion-id must be traceable, so the answer is recorded before it is sent.
    try {
      await records.recordAnswer({ service: service.id, hook: service.hook, hookInstance: call.request.hookInstance, caller, recordedAt, trace: outcome.trace, audit });
    } catch (error) {
      metrics.recordFailures.inc({ operation: 'answer' });
      req.log.error({ event: 'record-failed', operation: 'answer', hookInstance: call.request.hookInstance, error: error instanceof Error ? error.name : 'unknown' });
      throw serviceUnavailable('The answer could not be recorded, so it is not given; try again.');
    }
    for (const a of outcome.trace.assertions) metrics.determinations.inc({ payer: a.payer, policy: a.policy, rule: a.rule, covered: a.covered });
    metrics.hookDuration.observe({ hook: service.hook, status: '200' }, latencyMs / 1000);
    res.json(outcome.response);
    req.log.info({
      event: 'hook',
      ...caller,
      service: service.id,
      hook: service.hook,
      hookInstance: call.request.hookInstance,
      status: 200,
      cards: outcome.response.cards.length,
      systemActions: outcome.response.systemActions?.length ?? 0,
      ...outcome.summary,
      assertionIds: audit.assertionIds,
      ms: latencyMs,
    });
  });

  app.post('/cds-services/:id/feedback', json, async (req: Request, res: Response) => {
    const service = services.get(String(req.params.id));
    if (!service) throw notFound(`No CDS service "${String(req.params.id)}" here; see GET /cds-services.`);
    const entries = parseFeedback(req.body);
    const client = authenticatedClient(req);
    const receivedAt = new Date().toISOString();
    try {
      await records.record(
        entries.map((entry) => ({ ...entry, serviceId: service.id, receivedAt, ...(client ? { iss: client.iss, ...(client.tenant ? { tenant: client.tenant } : {}) } : {}) })),
      );
    } catch (error) {
      metrics.recordFailures.inc({ operation: 'feedback' });
      req.log.error({ event: 'record-failed', operation: 'feedback', error: error instanceof Error ? error.name : 'unknown' });
      throw serviceUnavailable('The feedback could not be stored; send it again.');
    }
    for (const e of entries) metrics.feedback.inc({ service: service.id, outcome: e.outcome });
    res.json({ received: entries.length });
    req.log.info({ event: 'feedback', service: service.id, ...(client ? { iss: client.iss, jti: client.jti } : {}), outcomes: entries.map((e) => e.outcome) });
  });

  if (options.cardView) app.use('/card-view', cardViewRouter({ ...options.cardView, catalog: options.catalog, log: (event) => logger.info(event) }));

  app.use((req, _res, next) => next(notFound(`Nothing at ${req.method} ${req.path}; the services are listed at GET /cds-services.`)));

  /** Every hook call that did not end in a 200 is audited too (best effort: a failure here is logged, the answer still goes). */
  const auditRefusal = async (req: Request, res: Response, answer: HttpError): Promise<void> => {
    const progress = progressOf(res);
    const latencyMs = elapsedMs(res);
    metrics.hookDuration.observe({ hook: progress.hook ?? 'unknown', status: String(answer.status) }, latencyMs / 1000);
    try {
      await records.recordAudit({
        at: new Date().toISOString(),
        requestId: String(req.id),
        ...callerOf(authenticatedClient(req)),
        ...(progress.service ? { service: progress.service, hook: progress.hook! } : {}),
        ...(progress.hookInstance ? { hookInstance: progress.hookInstance } : {}),
        status: answer.status,
        latencyMs,
        orders: [],
        determinations: [],
        assertionIds: [],
        problem: answer.message.slice(0, 1000),
      });
    } catch (error) {
      metrics.recordFailures.inc({ operation: 'audit' });
      req.log.error({ event: 'record-failed', operation: 'audit', error: error instanceof Error ? error.name : 'unknown' });
    }
  };

  const errors: ErrorRequestHandler = async (error: unknown, req, res, _next) => {
    let answer: HttpError;
    const type = (error as { type?: string }).type;
    if (error instanceof HttpError) answer = error;
    else if (type === 'entity.parse.failed') answer = badRequest('The request body is not valid JSON.');
    else if (type === 'entity.too.large') answer = payloadTooLarge(`The request body is larger than ${options.bodyLimit}.`);
    else if (type === 'encoding.unsupported' || type === 'charset.unsupported') answer = unsupportedMediaType('The request body encoding is not supported.');
    else if (typeof (error as { status?: unknown }).status === 'number' && (error as { status: number }).status < 500) {
      answer = new HttpError((error as { status: number }).status, badRequest('The request could not be read.').outcome);
    } else {
      answer = internalError();
      req.log.error({ event: 'error', path: req.path, error: error instanceof Error ? error.name + ': ' + error.message : 'unknown' });
    }
    if (answer.status < 500) req.log.info({ event: 'rejected', path: req.path, status: answer.status, reason: answer.message });
    if (req.method === 'POST' && HOOK_PATH.test(req.path)) await auditRefusal(req, res, answer);
    sendError(res, answer);
  };
  app.use(errors);
  return app;
}
