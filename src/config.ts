import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllowlist } from './fhir/allowlist.js';
import { LOG_LEVELS } from './http/logging.js';

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
  /** Folder of the embedded SQLite database (`crd.sqlite`), used when no `databaseUrl` is set. */
  dataDir: string;
  /** `postgres://…`: the records live in PostgreSQL (shared by every instance). */
  databaseUrl?: string;
  /** Audit entries older than this are deleted (hourly). */
  auditRetentionDays: number;
  /** Audit entries hold the request (less the access token) and the response: PHI, so off by default. */
  auditFullResources: boolean;
  /** How long a call waits for the records database before a 503; unset, the store's default (1 s). */
  recordsTimeoutMs?: number;
  /** When set, `/metrics` needs `Authorization: Bearer <token>`. */
  metricsToken?: string;
  /** pino level. */
  logLevel: (typeof LOG_LEVELS)[number];
  /** On SIGTERM, how long requests in flight may take before their connections are closed. */
  shutdownTimeoutMs: number;
}

/** `CDS_DEV_KEY_DIR`, else `.dev-keys/` in the project: where the local development key pair lives. */
export function devKeyDirFrom(env: NodeJS.ProcessEnv): string {
  return resolve(env.CDS_DEV_KEY_DIR ?? join(projectRoot, '.dev-keys'));
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

function booleanFromEnv(env: NodeJS.ProcessEnv, name: string, fallback: boolean): boolean {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (raw !== 'true' && raw !== 'false') throw new Error(`${name} must be "true" or "false", got "${raw}"`);
  return raw === 'true';
}

function logLevel(raw: string | undefined): ServiceConfig['logLevel'] {
  if (raw === undefined || raw === '') return 'info';
  if (!(LOG_LEVELS as readonly string[]).includes(raw)) throw new Error(`LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')}, got "${raw}"`);
  return raw as ServiceConfig['logLevel'];
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
    devKeyDir: devKeyDirFrom(env),
    cardView: cardViewFromEnv(env),
    dataDir: resolve(env.DATA_DIR ?? join(projectRoot, 'data')),
    auditRetentionDays: intFromEnv(env, 'AUDIT_RETENTION_DAYS', 365),
    auditFullResources: booleanFromEnv(env, 'AUDIT_FULL_RESOURCES', false),
    logLevel: logLevel(env.LOG_LEVEL),
    shutdownTimeoutMs: intFromEnv(env, 'SHUTDOWN_TIMEOUT_MS', 25_000),
  };
  if (env.DATABASE_URL) {
    if (!/^postgres(ql)?:\/\//.test(env.DATABASE_URL)) throw new Error('DATABASE_URL must be a postgres:// URL (unset it to use the embedded SQLite file in DATA_DIR)');
    config.databaseUrl = env.DATABASE_URL;
  }
  if (env.METRICS_TOKEN) config.metricsToken = env.METRICS_TOKEN;
  if (env.RECORDS_TIMEOUT_MS) config.recordsTimeoutMs = intFromEnv(env, 'RECORDS_TIMEOUT_MS', 1);
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
