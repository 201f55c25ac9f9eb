import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import cors from 'cors';
import express, { type ErrorRequestHandler, type Express, type Request, type RequestHandler, type Response } from 'express';
import helmet from 'helmet';
import type { Dispatcher } from 'undici';
import type { ClientAuthenticator } from '../auth/client-authenticator.js';
import { parseFeedback } from '../feedback/feedback.js';
import { FhirServerAllowlist } from '../fhir/allowlist.js';
import { boundedDispatcher } from '../fhir/capped-fetch.js';
import { cardViewRouter, type CardViewOptions } from '../card-view/router.js';
import { DecisionEngine } from '../hooks/engine.js';
import { RequestValidator } from '../hooks/request.js';
import { serviceDefinitions, type ServiceDefinition } from '../hooks/service-definitions.js';
import type { PolicyCatalog } from '../policy/catalog.js';
import type { RecordStore } from '../records/store.js';
import { authenticatedClient, requireClient } from './authenticate.js';
import { clientErrorOf, HttpError, internalError, notFound, serviceUnavailable } from './errors.js';
import { HookEndpoint, headersSetBy, type Middleware } from './hook-endpoint.js';
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

/**
 * The service over HTTP: a node:http request listener (for `http.createServer`, or supertest in
 * the tests). Hook calls go to the hook endpoint, everything else to Express (`express`).
 */
export type ServiceApp = RequestListener & { readonly express: Express };

export function createApp(options: AppOptions): ServiceApp {
  const engine = new DecisionEngine(options.catalog);
  const definitions = serviceDefinitions(options.catalog);
  const validator = new RequestValidator(definitions.map((s) => s.hook));
  const services = new Map<string, ServiceDefinition>(definitions.map((s) => [s.id, s]));
  const logger = options.logger ?? createLogger({ level: 'silent' });
  const metrics = options.metrics ?? new ServiceMetrics();
  const records = options.records;
  const allowlist = options.fhirAllowlist ?? new FhirServerAllowlist([]);
  const outbound = options.outbound ?? boundedDispatcher({ maxResponseBytes: 5 * 1024 * 1024, connectTimeoutMs: options.fhirTimeoutMs });
  const auth = options.auth ? { ...options.auth, onFailure: (reason: string) => metrics.authFailed(reason) } : undefined;
  const authenticate: RequestHandler = auth ? requireClient(auth) : (_req, _res, next) => next();
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
  app.use(requestLogging(logger));
  // Security headers. The API is read cross-origin by browser clients (the CDS Hooks Sandbox), so
  // its resources are not restricted to same-origin readers.
  const securityHeaders = helmet({ crossOriginResourcePolicy: { policy: 'cross-origin' } });
  const corsHeaders = cors({
    origin: '*',
    methods: ['GET', 'POST', 'OPTIONS'],
    allowedHeaders: ['Authorization', 'Content-Type', 'Accept', 'X-Request-Id'],
    exposedHeaders: ['X-Request-Id'],
    maxAge: 600,
  });
  app.use(securityHeaders);
  app.use(corsHeaders);

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

  const errors: ErrorRequestHandler = (error: unknown, req, res, _next) => {
    let answer = clientErrorOf(error, options.bodyLimit);
    if (!answer) {
      answer = internalError();
      req.log.error({ event: 'error', path: req.path, error: error instanceof Error ? error.name + ': ' + error.message : 'unknown' });
    }
    if (answer.status < 500) req.log.info({ event: 'rejected', path: req.path, status: answer.status, reason: answer.message });
    sendError(res, answer);
  };
  app.use(errors);

  const hooks = new HookEndpoint({
    services,
    engine,
    validator,
    records,
    logger,
    metrics,
    bodyParser: json as unknown as Middleware,
    bodyLimit: options.bodyLimit,
    headers: headersSetBy([securityHeaders, corsHeaders] as unknown as Middleware[]),
    ...(auth ? { auth } : {}),
    fhirTimeoutMs: options.fhirTimeoutMs,
    allowsFhirServer: (baseUrl, client) => allowlist.allows(baseUrl, client ? serversOf(client.fhirServers) : undefined),
    outbound,
    ...(options.auditFullResources ? { auditFullResources: true } : {}),
  });
  const listener = (req: IncomingMessage, res: ServerResponse) => {
    if (!hooks.serve(req, res)) app(req, res);
  };
  return Object.assign(listener, { express: app });
}
