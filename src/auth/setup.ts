import { join } from 'node:path';
import type { Dispatcher } from 'undici';
import { projectRoot, type ServiceConfig } from '../config.js';
import { ClientAuthenticator } from './client-authenticator.js';
import { DEV_ISSUER, ensureDevKey } from './dev-key.js';
import type { ReplayCache } from './replay-cache.js';
import { loadTrustedIssuers, type TrustedIssuer } from './trusted-issuers.js';

/** The example file shipped with the project: the public CDS Hooks Sandbox issuer. */
export const EXAMPLE_TRUSTED_ISSUERS = join(projectRoot, 'config', 'trusted-issuers.example.json');

export interface TrustedIssuerSource {
  issuers: TrustedIssuer[];
  /** Where they came from, for the start-up log. */
  source: string;
}

/**
 * The issuers this process trusts: the `CDS_TRUSTED_ISSUERS` file, or, outside production when it
 * is unset, the development defaults: the example file (the CDS Hooks Sandbox) plus the local
 * development key, generated on first use, that `npm run token` and the hook CLI sign with.
 * (loadConfig refuses production without CDS_TRUSTED_ISSUERS.)
 */
export async function trustedIssuers(config: ServiceConfig): Promise<TrustedIssuerSource> {
  if (config.trustedIssuersFile) return { issuers: loadTrustedIssuers(config.trustedIssuersFile), source: config.trustedIssuersFile };
  const devKey = await ensureDevKey(config.devKeyDir);
  const dev: TrustedIssuer = { iss: DEV_ISSUER, jwks: devKey.jwks };
  return {
    issuers: [...loadTrustedIssuers(EXAMPLE_TRUSTED_ISSUERS), dev],
    source: `development defaults (${EXAMPLE_TRUSTED_ISSUERS} + the local key in ${config.devKeyDir})`,
  };
}

/** A ClientAuthenticator for `issuers`, fetching JWK Sets through the bounded outbound dispatcher; jti replays are checked in `replayCache` (the records database). */
export function clientAuthenticator(issuers: TrustedIssuer[], dispatcher: Dispatcher, replayCache: ReplayCache): ClientAuthenticator {
  const boundedFetch: typeof fetch = (input, init) => fetch(input, { ...init, dispatcher } as RequestInit);
  return new ClientAuthenticator(issuers, { replayCache, fetch: boundedFetch });
}
