import cors from 'cors';
import express, { type ErrorRequestHandler, type Request, type RequestHandler, type Response } from 'express';
import helmet from 'helmet';
import type { Dispatcher } from 'undici';
import type { ClientAuthenticator } from '../auth/client-authenticator.js';
import { parseFeedback, type FeedbackStore, MemoryFeedbackStore } from '../feedback/feedback.js';
import { FhirServerAllowlist } from '../fhir/allowlist.js';
import { boundedDispatcher } from '../fhir/capped-fetch.js';
import { cardViewRouter, type CardViewOptions } from '../card-view/router.js';
import { DecisionEngine } from '../hooks/engine.js';
import { handleHook } from '../hooks/handle.js';
import { RequestValidator } from '../hooks/request.js';
import { serviceDefinitions, type ServiceDefinition } from '../hooks/service-definitions.js';
import type { PolicyCatalog } from '../policy/catalog.js';
import { authenticatedClient, requireClient } from './authenticate.js';
import { badRequest, HttpError, internalError, notFound, payloadTooLarge, unsupportedMediaType } from './errors.js';

export interface AppOptions {
  catalog: PolicyCatalog;
  fhirTimeoutMs: number;
  bodyLimit: string;
  /** Where the service reports what happened (ids and codes only). Defaults to silence. */
  log?: (event: Record<string, unknown>) => void;
  /** CDS client authentication; absent means off (development only). */
  auth?: { authenticator: ClientAuthenticator; publicBaseUrl?: string };
  /** FHIR servers the service may query besides each issuer's own; empty by default. */
  fhirAllowlist?: FhirServerAllowlist;
  /** Bounded outbound HTTP for FHIR queries. */
  outbound?: Dispatcher;
  /** Where CDS Hooks feedback goes; in memory by default. */
  feedback?: FeedbackStore;
  /** The card view (a demo EHR page, src/card-view/) at /card-view; absent: not served. */
  cardView?: Omit<CardViewOptions, 'catalog' | 'log'>;
}

function sendError(res: Response, error: HttpError): void {
  res.status(error.status).type('application/fhir+json').send(JSON.stringify(error.outcome));
}

/**
 * The HTTP layer: discovery, one POST route per service, CORS for browser clients such as the
 * public CDS Hooks Sandbox (preflights included, no credentials), and one error handler that turns
 * every failure into a 4xx with an OperationOutcome, never a stack trace.
 */
export function createApp(options: AppOptions): express.Express {
  const engine = new DecisionEngine(options.catalog);
  const definitions = serviceDefinitions(options.catalog);
  const validator = new RequestValidator(definitions.map((s) => s.hook));
  const services = new Map<string, ServiceDefinition>(definitions.map((s) => [s.id, s]));
  const log = options.log ?? (() => undefined);
  const allowlist = options.fhirAllowlist ?? new FhirServerAllowlist([]);
  const outbound = options.outbound ?? boundedDispatcher({ maxResponseBytes: 5 * 1024 * 1024, connectTimeoutMs: options.fhirTimeoutMs });
  const feedback = options.feedback ?? new MemoryFeedbackStore();
  const authenticate: RequestHandler = options.auth
    ? requireClient({ ...options.auth, log })
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
  // Security headers. The API is read cross-origin by browser clients (the CDS Hooks Sandbox), so
  // its resources are not restricted to same-origin readers.
  app.use(helmet({ crossOriginResourcePolicy: { policy: 'cross-origin' } }));
  app.use(
    cors({
      origin: '*',
      methods: ['GET', 'POST', 'OPTIONS'],
      allowedHeaders: ['Authorization', 'Content-Type', 'Accept'],
      maxAge: 600,
    }),
  );

  app.get('/', (_req, res) => res.redirect(302, '/cds-services'));
  // CDS Hooks 2.0: discovery, service calls and feedback are all authenticated (preflights are not: CORS answers them first).
  app.use('/cds-services', authenticate);
  app.get('/cds-services', (_req, res) => {
    res.json({ services: definitions });
  });

  // Any content type is read as JSON: curl users and some EHRs omit or mislabel it.
  const json = express.json({ limit: options.bodyLimit, type: () => true, strict: false });
  app.post('/cds-services/:id', json, async (req: Request, res: Response) => {
    const started = process.hrtime.bigint();
    const service = services.get(String(req.params.id));
    if (!service) throw notFound(`No CDS service "${String(req.params.id)}" here; see GET /cds-services.`);
    if (req.body === undefined) throw badRequest('The request has no body: send a CDS Hooks request as JSON.');
    const call = validator.parse(service, req.body);
    const client = authenticatedClient(req);
    const extra = client ? serversOf(client.fhirServers) : undefined;
    const outcome = await handleHook(call, engine, {
      timeoutMs: options.fhirTimeoutMs,
      allows: (baseUrl) => allowlist.allows(baseUrl, extra),
      dispatcher: outbound,
    });
    res.json(outcome.response);
    log({
      event: 'hook',
      ...(client ? { iss: client.iss, tenant: client.tenant, jti: client.jti } : {}),
      service: service.id,
      hook: service.hook,
      hookInstance: call.request.hookInstance,
      status: 200,
      cards: outcome.response.cards.length,
      systemActions: outcome.response.systemActions?.length ?? 0,
      ...outcome.summary,
      ms: Number(process.hrtime.bigint() - started) / 1e6,
    });
  });

  app.post('/cds-services/:id/feedback', json, async (req: Request, res: Response) => {
    const service = services.get(String(req.params.id));
    if (!service) throw notFound(`No CDS service "${String(req.params.id)}" here; see GET /cds-services.`);
    const entries = parseFeedback(req.body);
    const client = authenticatedClient(req);
    const receivedAt = new Date().toISOString();
    await feedback.record(
      entries.map((entry) => ({ ...entry, serviceId: service.id, receivedAt, ...(client ? { iss: client.iss, ...(client.tenant ? { tenant: client.tenant } : {}) } : {}) })),
    );
    res.json({ received: entries.length });
    log({ event: 'feedback', service: service.id, ...(client ? { iss: client.iss, jti: client.jti } : {}), outcomes: entries.map((e) => e.outcome) });
  });

  if (options.cardView) app.use('/card-view', cardViewRouter({ ...options.cardView, catalog: options.catalog, log }));

  app.use((req, _res, next) => next(notFound(`Nothing at ${req.method} ${req.path}; the services are listed at GET /cds-services.`)));

  const errors: ErrorRequestHandler = (error: unknown, req, res, _next) => {
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
      log({ event: 'error', path: req.path, error: error instanceof Error ? error.name + ': ' + error.message : 'unknown' });
    }
    if (answer.status < 500) log({ event: 'rejected', path: req.path, status: answer.status, reason: answer.message });
    sendError(res, answer);
  };
  app.use(errors);
  return app;
}
