import type { RequestListener } from 'node:http';
import cors from 'cors';
import express, { type ErrorRequestHandler, type Request, type RequestHandler, type Response } from 'express';
import helmet from 'helmet';
import type { Dispatcher } from 'undici';
import type { AuthenticatedClient, ClientAuthenticator } from '../auth/client-authenticator.js';
import { parseFeedback, type FeedbackStore, MemoryFeedbackStore } from '../feedback/feedback.js';
import { FhirServerAllowlist } from '../fhir/allowlist.js';
import { boundedDispatcher } from '../fhir/capped-fetch.js';
import { DecisionEngine } from '../hooks/engine.js';
import { handleHook } from '../hooks/handle.js';
import { RequestValidator } from '../hooks/request.js';
import { serviceDefinitions, type ServiceDefinition } from '../hooks/service-definitions.js';
import type { PolicyCatalog } from '../policy/catalog.js';
import { admitClient, authenticatedClient, requireClient } from './authenticate.js';
import { answerFor, badRequest, type HttpError, notFound } from './errors.js';
import { headersSetBy, HookLane } from './hook-lane.js';

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
}

function sendError(res: Response, error: HttpError): void {
  res.status(error.status).type('application/fhir+json').send(JSON.stringify(error.outcome));
}

/**
 * The HTTP layer: discovery, one POST route per service, CORS for browser clients such as the
 * public CDS Hooks Sandbox (preflights included, no credentials), and one error handler that turns
 * every failure into a 4xx with an OperationOutcome, never a stack trace. Hook calls in the plain
 * case take the lane (src/http/hook-lane.ts) past Express; everything else goes through Express.
 */
export function createApp(options: AppOptions): RequestListener {
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

  /** The hook call, for the lane and the Express route alike: validate, run the pipeline, log. */
  const answer = async (serviceId: string, body: unknown, client: AuthenticatedClient | undefined) => {
    const started = process.hrtime.bigint();
    const service = services.get(serviceId);
    if (!service) throw notFound(`No CDS service "${serviceId}" here; see GET /cds-services.`);
    if (body === undefined) throw badRequest('The request has no body: send a CDS Hooks request as JSON.');
    const call = validator.parse(service, body);
    const extra = client ? serversOf(client.fhirServers) : undefined;
    const outcome = await handleHook(call, engine, {
      timeoutMs: options.fhirTimeoutMs,
      allows: (baseUrl) => allowlist.allows(baseUrl, extra),
      dispatcher: outbound,
    });
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
    return outcome.response;
  };
  /** Every failure as its answer, logged: a 500 with what went wrong, a 4xx with why. */
  const failure = (error: unknown, path: string): HttpError => {
    const answer = answerFor(error, options.bodyLimit);
    if (answer.status >= 500) log({ event: 'error', path, error: error instanceof Error ? error.name + ': ' + error.message : 'unknown' });
    else log({ event: 'rejected', path, status: answer.status, reason: answer.message });
    return answer;
  };

  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  const headers = [
    // Security headers. The API is read cross-origin by browser clients (the CDS Hooks Sandbox), so
    // its resources are not restricted to same-origin readers.
    helmet({ crossOriginResourcePolicy: { policy: 'cross-origin' } }),
    cors({
      origin: '*',
      methods: ['GET', 'POST', 'OPTIONS'],
      allowedHeaders: ['Authorization', 'Content-Type', 'Accept'],
      maxAge: 600,
    }),
  ];
  for (const middleware of headers) app.use(middleware);

  app.get('/', (_req, res) => res.redirect(302, '/cds-services'));
  // CDS Hooks 2.0: discovery, service calls and feedback are all authenticated (preflights are not: CORS answers them first).
  app.use('/cds-services', authenticate);
  app.get('/cds-services', (_req, res) => {
    res.json({ services: definitions });
  });

  // Any content type is read as JSON: curl users and some EHRs omit or mislabel it.
  const json = express.json({ limit: options.bodyLimit, type: () => true, strict: false });
  app.post('/cds-services/:id', json, async (req: Request, res: Response) => {
    res.json(await answer(String(req.params.id), req.body, authenticatedClient(req)));
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

  app.use((req, _res, next) => next(notFound(`Nothing at ${req.method} ${req.path}; the services are listed at GET /cds-services.`)));

  const errors: ErrorRequestHandler = (error: unknown, req, res, _next) => {
    sendError(res, failure(error, req.path));
  };
  app.use(errors);

  const auth = options.auth;
  const lane = new HookLane({
    serviceIds: new Set(services.keys()),
    bodyLimit: options.bodyLimit,
    headers: headersSetBy(headers),
    ...(auth ? { admit: (req, res, path) => admitClient({ ...auth, log }, req, res, path) } : {}),
    answer: (serviceId, body, client) => answer(serviceId, body, client as AuthenticatedClient | undefined),
    failure,
  });
  return (req, res) => {
    if (!lane.serve(req, res)) app(req, res);
  };
}
