import type { RequestListener } from 'node:http';
import cors from 'cors';
import express, { type ErrorRequestHandler, type Request, type Response } from 'express';
import { DecisionEngine } from '../hooks/engine.js';
import { handleHook } from '../hooks/handle.js';
import { RequestValidator } from '../hooks/request.js';
import { serviceDefinitions, type ServiceDefinition } from '../hooks/service-definitions.js';
import type { PolicyCatalog } from '../policy/catalog.js';
import { answerFor, badRequest, type HttpError, notFound } from './errors.js';
import { headersSetBy, HookLane } from './hook-lane.js';

export interface AppOptions {
  catalog: PolicyCatalog;
  fhirTimeoutMs: number;
  bodyLimit: string;
  /** Where the service reports what happened (ids and codes only). Defaults to silence. */
  log?: (event: Record<string, unknown>) => void;
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

  /** The hook call shared by the lane and the Express route: validate, run the pipeline, log. */
  const answer = async (serviceId: string, body: unknown) => {
    const started = process.hrtime.bigint();
    const service = services.get(serviceId);
    if (!service) throw notFound(`No CDS service "${serviceId}" here; see GET /cds-services.`);
    if (body === undefined) throw badRequest('The request has no body: send a CDS Hooks request as JSON.');
    const call = validator.parse(service, body);
    const outcome = await handleHook(call, engine, options.fhirTimeoutMs);
    log({
      event: 'hook',
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
    cors({
      origin: '*',
      methods: ['GET', 'POST', 'OPTIONS'],
      allowedHeaders: ['Authorization', 'Content-Type', 'Accept'],
      maxAge: 600,
    }),
  ];
  for (const middleware of headers) app.use(middleware);

  app.get('/', (_req, res) => res.redirect(302, '/cds-services'));
  app.get('/cds-services', (_req, res) => {
    res.json({ services: definitions });
  });

  // Any content type is read as JSON: curl users and some EHRs omit or mislabel it.
  const json = express.json({ limit: options.bodyLimit, type: () => true, strict: false });
  app.post('/cds-services/:id', json, async (req: Request, res: Response) => {
    res.json(await answer(String(req.params.id), req.body));
  });

  app.use((req, _res, next) => next(notFound(`Nothing at ${req.method} ${req.path}; the services are listed at GET /cds-services.`)));

  const errors: ErrorRequestHandler = (error: unknown, req, res, _next) => {
    sendError(res, failure(error, req.path));
  };
  app.use(errors);

  const lane = new HookLane({ serviceIds: new Set(services.keys()), bodyLimit: options.bodyLimit, headers: headersSetBy(headers), answer, failure });
  return (req, res) => {
    if (!lane.serve(req, res)) app(req, res);
  };
}
