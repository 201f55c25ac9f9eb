import type { IncomingMessage } from 'node:http';
import type { Request, RequestHandler } from 'express';
import type { Logger } from 'pino';
import { AuthenticationFailure, type AuthenticatedClient, type ClientAuthenticator } from '../auth/client-authenticator.js';
import { HttpError, operationOutcome, serviceUnavailable } from './errors.js';

/** 401 without saying why (cds-hooks.org best practices); the reason goes to the log only. */
export const unauthorized = () =>
  new HttpError(401, operationOutcome('login', 'Authentication failed: send a CDS Hooks client JWT as "Authorization: Bearer <JWT>".'));

/**
 * The `aud` a call must carry: the URL of the endpoint called (CDS Hooks 2.0 §Trusting CDS
 * Clients). Behind a proxy the public base URL is configured; otherwise it is read from the request
 * (the scheme from the socket: no proxy header is trusted).
 */
function endpointUrl(req: IncomingMessage, path: string, publicBaseUrl: string | undefined): string {
  if (publicBaseUrl !== undefined) return publicBaseUrl + path;
  const scheme = (req.socket as { encrypted?: boolean }).encrypted ? 'https' : 'http';
  return `${scheme}://${req.headers.host ?? 'localhost'}${path}`;
}

/** The verified client of each request. (Not a property on `req`: Node's `req.client` is the socket.) */
const clients = new WeakMap<Request, AuthenticatedClient>();

export function authenticatedClient(req: Request): AuthenticatedClient | undefined {
  return clients.get(req);
}

export interface AuthenticationOptions {
  authenticator: ClientAuthenticator;
  publicBaseUrl?: string;
  /** Told the reason of every refusal (the auth-failure metric). */
  onFailure?: (reason: string) => void;
}

/**
 * Verifies the client JWT of a request to `path` (no query string) and returns the client, or
 * throws the answer: a bare 401, or a 503 when the jti replay cache (the records database) does not
 * answer (fail closed). Logs only the reason, `iss` and `jti` of a refusal, never the token. Used
 * by the hook endpoint (node:http) and, through {@link requireClient}, by the Express routes;
 * `context` (the request id) is added to what it logs.
 */
export async function admitClient(
  options: AuthenticationOptions,
  req: IncomingMessage,
  path: string,
  log: Logger,
  context: Record<string, unknown> = {},
): Promise<AuthenticatedClient> {
  try {
    return await options.authenticator.authenticate(req.headers.authorization, endpointUrl(req, path, options.publicBaseUrl));
  } catch (error) {
    if (!(error instanceof AuthenticationFailure)) {
      log.error({ ...context, event: 'auth-unavailable', error: error instanceof Error ? error.name : 'unknown' });
      throw serviceUnavailable('Authentication could not be completed; try again.');
    }
    options.onFailure?.(error.reason);
    log.warn({ ...context, event: 'auth-failed', path, reason: error.reason, iss: error.iss, jti: error.jti });
    throw unauthorized();
  }
}

/** {@link admitClient} as Express middleware; a refusal carries `WWW-Authenticate: Bearer`. */
export function requireClient(options: AuthenticationOptions): RequestHandler {
  return async (req, res, next) => {
    try {
      clients.set(req, await admitClient(options, req, req.originalUrl.split('?')[0]!, req.log));
      next();
    } catch (error) {
      if (error instanceof HttpError && error.status === 401) res.set('WWW-Authenticate', 'Bearer');
      next(error);
    }
  };
}
