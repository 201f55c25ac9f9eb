import type { Request, RequestHandler } from 'express';
import { AuthenticationFailure, type AuthenticatedClient, type ClientAuthenticator } from '../auth/client-authenticator.js';
import { HttpError, operationOutcome, serviceUnavailable } from './errors.js';

/** 401 without saying why (cds-hooks.org best practices); the reason goes to the log only. */
export const unauthorized = () =>
  new HttpError(401, operationOutcome('login', 'Authentication failed: send a CDS Hooks client JWT as "Authorization: Bearer <JWT>".'));

/**
 * The `aud` a call must carry: the URL of the endpoint called (CDS Hooks 2.0 §Trusting CDS
 * Clients). Behind a proxy the public base URL is configured; otherwise it is read from the request.
 */
function endpointUrl(req: Request, publicBaseUrl: string | undefined): string {
  const path = req.originalUrl.split('?')[0]!;
  return (publicBaseUrl ?? `${req.protocol}://${req.get('host') ?? 'localhost'}`) + path;
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
 * Requires a verified client JWT; logs (through the request's logger) only the reason, `iss` and
 * `jti` of a refusal, never the token.
 */
export function requireClient(options: AuthenticationOptions): RequestHandler {
  return async (req, res, next) => {
    try {
      const client = await options.authenticator.authenticate(req.get('authorization'), endpointUrl(req, options.publicBaseUrl));
      clients.set(req, client);
      next();
    } catch (error) {
      if (!(error instanceof AuthenticationFailure)) {
        // The jti replay cache (the records database) did not answer: fail closed, and say it is temporary.
        req.log.error({ event: 'auth-unavailable', error: error instanceof Error ? error.name : 'unknown' });
        return next(serviceUnavailable('Authentication could not be completed; try again.'));
      }
      options.onFailure?.(error.reason);
      req.log.warn({ event: 'auth-failed', path: req.originalUrl.split('?')[0], reason: error.reason, iss: error.iss, jti: error.jti });
      res.set('WWW-Authenticate', 'Bearer');
      next(unauthorized());
    }
  };
}
