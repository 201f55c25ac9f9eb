import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Request, RequestHandler } from 'express';
import { AuthenticationFailure, type AuthenticatedClient, type ClientAuthenticator } from '../auth/client-authenticator.js';
import { HttpError, operationOutcome } from './errors.js';

/** 401 without saying why (cds-hooks.org best practices); the reason goes to the log only. */
export const unauthorized = () =>
  new HttpError(401, operationOutcome('login', 'Authentication failed: send a CDS Hooks client JWT as "Authorization: Bearer <JWT>".'));

/**
 * The `aud` a call must carry: the URL of the endpoint called (CDS Hooks 2.0 §Trusting CDS
 * Clients). Behind a proxy the public base URL is configured; otherwise it is read from the request.
 */
export function endpointUrl(req: IncomingMessage, path: string, publicBaseUrl: string | undefined): string {
  const protocol = (req.socket as { encrypted?: boolean } | undefined)?.encrypted ? 'https' : 'http';
  return (publicBaseUrl ?? `${protocol}://${req.headers.host ?? 'localhost'}`) + path;
}

/** The verified client of each request. (Not a property on `req`: Node's `req.client` is the socket.) */
const clients = new WeakMap<Request, AuthenticatedClient>();

export function authenticatedClient(req: Request): AuthenticatedClient | undefined {
  return clients.get(req);
}

export interface AuthenticationOptions {
  authenticator: ClientAuthenticator;
  publicBaseUrl?: string;
  log: (event: Record<string, unknown>) => void;
}

/**
 * The verified client of a call to `path`, or a 401 (with `WWW-Authenticate: Bearer`); logs only the
 * reason, `iss` and `jti` of a refusal, never the token. Express (requireClient) and the hook lane
 * both admit clients through here.
 */
export async function admitClient(options: AuthenticationOptions, req: IncomingMessage, res: ServerResponse, path: string): Promise<AuthenticatedClient> {
  try {
    return await options.authenticator.authenticate(req.headers.authorization, endpointUrl(req, path, options.publicBaseUrl));
  } catch (error) {
    if (!(error instanceof AuthenticationFailure)) throw error;
    options.log({ event: 'auth-failed', path, reason: error.reason, iss: error.iss, jti: error.jti });
    res.setHeader('WWW-Authenticate', 'Bearer');
    throw unauthorized();
  }
}

/** Requires a verified client JWT (see admitClient). */
export function requireClient(options: AuthenticationOptions): RequestHandler {
  return async (req, res, next) => {
    try {
      clients.set(req, await admitClient(options, req, res, req.originalUrl.split('?')[0]!));
      next();
    } catch (error) {
      next(error);
    }
  };
}
