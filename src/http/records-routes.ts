import express, { type Request, type RequestHandler, type Response, type Router } from 'express';
import type { Logger } from 'pino';
import type { RecordStore } from '../records/store.js';
import { badRequest, notFound, serviceUnavailable } from './errors.js';
import type { ServiceMetrics } from './metrics.js';

/** RFC 3339 date-time (as feedback timestamps), or a plain date. */
const INSTANT = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2}))?$/;

function instantParam(req: Request, name: string): string | undefined {
  const raw = req.query[name];
  if (raw === undefined) return undefined;
  if (typeof raw !== 'string' || !INSTANT.test(raw) || Number.isNaN(Date.parse(raw))) {
    throw badRequest(`Query parameter "${name}" must be an RFC 3339 date-time or a date (e.g. 2026-11-01T00:00:00Z).`, [name]);
  }
  return new Date(raw).toISOString();
}

/** A read of the records; a database failure is a 503 (never a 500 and never a guess). */
async function read<T>(records: RecordStore, metrics: ServiceMetrics, log: Logger, operation: string, query: () => Promise<T>): Promise<T> {
  try {
    return await query();
  } catch (error) {
    metrics.recordFailures.inc({ operation });
    log.error({ event: 'record-failed', operation, engine: records.engine, error: error instanceof Error ? error.name : 'unknown' });
    throw serviceUnavailable('The records database is not available; try again.');
  }
}

/**
 * Reading the records, authenticated like the hooks (the token's `aud` is the URL called):
 * `GET /coverage-assertions/{id}` (what was asserted under a coverage-assertion-id) and
 * `GET /feedback/summary?from=&to=` (feedback counted by service, payer, determination, rule,
 * outcome and override reason).
 */
export function recordsRoutes(records: RecordStore, authenticate: RequestHandler, metrics: ServiceMetrics): Router {
  const router = express.Router();
  router.get('/coverage-assertions/:id', authenticate, async (req: Request, res: Response) => {
    const id = String(req.params.id);
    if (id.length > 128) throw notFound('No coverage assertion with this id.');
    const found = await read(records, metrics, req.log, 'assertion', () => records.assertion(id));
    if (!found) throw notFound('No coverage assertion with this id was recorded by this service.');
    res.json(found);
  });

  router.get('/feedback/summary', authenticate, async (req: Request, res: Response) => {
    const from = instantParam(req, 'from');
    const to = instantParam(req, 'to');
    res.json(await read(records, metrics, req.log, 'feedback-summary', () => records.feedbackSummary({ ...(from ? { from } : {}), ...(to ? { to } : {}) })));
  });
  return router;
}
