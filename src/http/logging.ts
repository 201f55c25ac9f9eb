import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { pino, type DestinationStream, type Logger } from 'pino';
import { pinoHttp } from 'pino-http';

export type { Logger };

/**
 * Paths redacted from anything logged, as a second line of defence: the code logs ids and codes
 * only (docs/security.md), never a header, a token or a resource; the test suite scans every line
 * logged (test/support/log-scan.ts). Explicit paths only: a single `*.x` wildcard path makes pino
 * walk every logged object and cost about 12 µs more per line (measured with pino 10), as much as
 * a tenth of a hook call's own work.
 */
const REDACT = ['authorization', 'headers', 'access_token', 'fhirAuthorization', 'req.headers', 'request.fhirAuthorization', 'error.headers'];

/** The service's logger: one JSON object per line (pino), ISO time, level as a word. */
export function createLogger(options: { level?: string; destination?: DestinationStream } = {}): Logger {
  const settings = {
    level: options.level ?? 'info',
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label: string) => ({ level: label }) },
    redact: { paths: REDACT, censor: '[redacted]' },
  };
  // Default: synchronous writes to stdout, so nothing logged is lost when the process is killed.
  return options.destination ? pino(settings, options.destination) : pino(settings);
}

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/** A caller's `X-Request-Id` is kept when it is a plain token; otherwise (or without one) a UUID is made. */
const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** The request's id: the caller's `X-Request-Id` when it is a plain token, otherwise a new UUID. */
export function requestIdOf(req: IncomingMessage): string {
  const given = req.headers['x-request-id'];
  return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
}

const QUIET = new Set(['/healthz', '/readyz', '/metrics']);

/**
 * One request id per request, echoed in the `X-Request-Id` response header and carried by every
 * line logged through `req.log`; one line per request when it completes (method, path, status,
 * time). Probes and scrapes are not logged.
 */
export function requestLogging(logger: Logger) {
  return pinoHttp({
    logger,
    genReqId: (req, res) => {
      const id = requestIdOf(req);
      res.setHeader('X-Request-Id', id);
      return id;
    },
    customAttributeKeys: { reqId: 'requestId', responseTime: 'ms' },
    // req.log carries only the request id; the completion line adds method, path and status.
    quietReqLogger: true,
    wrapSerializers: false,
    serializers: {
      req: (req: IncomingMessage & { originalUrl?: string }) => ({ method: req.method, path: (req.originalUrl ?? req.url ?? '').split('?')[0] }),
      res: (res: { statusCode: number }) => ({ status: res.statusCode }),
    },
    customLogLevel: (_req, res, error) => (error || res.statusCode >= 500 ? 'error' : 'info'),
    customSuccessMessage: () => 'request completed',
    customErrorMessage: () => 'request failed',
    autoLogging: { ignore: (req) => QUIET.has((req.url ?? '').split('?')[0]!) },
  });
}
