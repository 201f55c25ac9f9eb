import { timingSafeEqual } from 'node:crypto';
import express, { type Express, type Request, type Response, type Router } from 'express';
import type { PolicyCatalog } from '../policy/catalog.js';
import type { RecordStore } from '../records/store.js';
import { unauthorizedMetrics } from './errors.js';
import type { ServiceMetrics } from './metrics.js';

export interface OperationsOptions {
  records: RecordStore;
  catalog: PolicyCatalog;
  metrics: ServiceMetrics;
  /** When set, `/metrics` needs `Authorization: Bearer <token>`. */
  metricsToken?: string;
}

/** Set on SIGTERM: `/readyz` answers 503 so the load balancer stops sending while requests drain. */
export function markDraining(app: Express): void {
  app.locals.draining = true;
}

function sameSecret(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

/**
 * Unauthenticated operations endpoints (probes and Prometheus scrapes carry no client JWT):
 * `/healthz` (the process answers), `/readyz` (the database answers and policies are loaded, and
 * the instance is not shutting down), `/metrics` (optionally behind METRICS_TOKEN).
 */
export function operationsRoutes(options: OperationsOptions): Router {
  const router = express.Router();
  router.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });

  router.get('/readyz', async (req: Request, res: Response) => {
    const policies = options.catalog.policies.length;
    let database: 'ok' | 'unreachable' = 'ok';
    try {
      await options.records.ping(); // bounded by the store's deadline (RECORDS_TIMEOUT_MS)
    } catch {
      database = 'unreachable';
    }
    const draining = req.app.locals.draining === true;
    const ready = database === 'ok' && policies > 0 && !draining;
    res.status(ready ? 200 : 503).json({ status: ready ? 'ready' : 'not-ready', database, engine: options.records.engine, policies, draining });
  });

  router.get('/metrics', async (req: Request, res: Response) => {
    if (options.metricsToken !== undefined) {
      const given = /^Bearer[ \t]+(\S+)$/i.exec(req.get('authorization') ?? '')?.[1] ?? '';
      if (!sameSecret(given, options.metricsToken)) {
        res.set('WWW-Authenticate', 'Bearer');
        throw unauthorizedMetrics();
      }
    }
    res.type(options.metrics.registry.contentType).send(await options.metrics.registry.metrics());
  });
  return router;
}
