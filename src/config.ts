import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllowlist } from './fhir/allowlist.js';

/** The folder holding package.json, found from this module whether it runs from src/ or dist/src/. */
export const projectRoot: string = (() => {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error('package.json not found above ' + fileURLToPath(import.meta.url));
    dir = parent;
  }
  return dir;
})();

export interface ServiceConfig {
  port: number;
  /** Where the encoded policies, payer registry and tables live. */
  policyDir: string;
  /** Budget for the whole round of FHIR queries of one hook call (CRD asks for an answer within 5 s). */
  fhirTimeoutMs: number;
  /** Largest request body accepted. */
  bodyLimit: string;
  /** `NODE_ENV=production`: no development defaults (docs/security.md). */
  production: boolean;
  /** CDS client authentication (CDS Hooks 2.0 §Trusting CDS Clients); `off` is for development only. */
  auth: 'required' | 'off';
  /** JSON file of trusted issuers; unset outside production = the development defaults. */
  trustedIssuersFile?: string;
  /** The service's public URL (scheme, host, optional path prefix), from which each endpoint's `aud` is built. */
  publicBaseUrl?: string;
  /** Base-URL prefixes of FHIR servers the service may query (besides each issuer's own `fhirServers`). */
  fhirAllowlist: string[];
  /** Largest answer accepted from a FHIR server or a JWK Set URL. */
  outboundMaxResponseBytes: number;
  /** Where the local development key pair lives. */
  devKeyDir: string;
  /** Serve the card view, a demo EHR page (src/card-view/): on by default except in production. */
  cardView: boolean;
}

function intFromEnv(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value <= 0) throw new Error(`${name} must be a positive integer, got "${raw}"`);
  return value;
}

function cardViewFromEnv(env: NodeJS.ProcessEnv): boolean {
  const raw = env.CARD_VIEW;
  if (raw === undefined || raw === '') return env.NODE_ENV !== 'production';
  if (raw === 'on' || raw === 'off') return raw === 'on';
  throw new Error(`CARD_VIEW must be "on" or "off", got "${raw}"`);
}

function publicBaseUrl(raw: string | undefined): string | undefined {
  if (raw === undefined || raw === '') return undefined;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new Error(`CDS_PUBLIC_BASE_URL must be an absolute URL, got "${raw}"`);
  }
  if ((url.protocol !== 'https:' && url.protocol !== 'http:') || url.search || url.hash) {
    throw new Error(`CDS_PUBLIC_BASE_URL must be an http(s) URL without query or fragment, got "${raw}"`);
  }
  return url.href.replace(/\/+$/, '');
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): ServiceConfig {
  const auth = env.CDS_AUTH ?? 'required';
  if (auth !== 'required' && auth !== 'off') throw new Error(`CDS_AUTH must be "required" or "off", got "${auth}"`);
  const production = env.NODE_ENV === 'production';
  const config: ServiceConfig = {
    port: intFromEnv(env, 'PORT', 3000),
    policyDir: resolve(env.POLICY_DIR ?? join(projectRoot, 'policies')),
    fhirTimeoutMs: intFromEnv(env, 'FHIR_TIMEOUT_MS', 2000),
    bodyLimit: env.BODY_LIMIT ?? '1mb',
    production,
    auth,
    fhirAllowlist: parseAllowlist(env.CDS_FHIR_ALLOWLIST),
    outboundMaxResponseBytes: intFromEnv(env, 'FHIR_MAX_RESPONSE_BYTES', 5 * 1024 * 1024),
    devKeyDir: resolve(env.CDS_DEV_KEY_DIR ?? join(projectRoot, '.dev-keys')),
    cardView: cardViewFromEnv(env),
  };
  if (env.CDS_TRUSTED_ISSUERS) config.trustedIssuersFile = resolve(env.CDS_TRUSTED_ISSUERS);
  const base = publicBaseUrl(env.CDS_PUBLIC_BASE_URL);
  if (base !== undefined) config.publicBaseUrl = base;
  if (production && auth === 'required' && (!config.trustedIssuersFile || !config.publicBaseUrl)) {
    throw new Error(
      'In production (NODE_ENV=production) set CDS_TRUSTED_ISSUERS (the issuers you trust) and CDS_PUBLIC_BASE_URL ' +
        '(the URL clients call, which every token\'s aud must name); see docs/security.md.',
    );
  }
  return config;
}
