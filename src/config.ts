import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

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

export function loadConfig(env: NodeJS.ProcessEnv = process.env): ServiceConfig {
  return {
    port: intFromEnv(env, 'PORT', 3000),
    policyDir: resolve(env.POLICY_DIR ?? join(projectRoot, 'policies')),
    fhirTimeoutMs: intFromEnv(env, 'FHIR_TIMEOUT_MS', 2000),
    bodyLimit: env.BODY_LIMIT ?? '1mb',
    cardView: cardViewFromEnv(env),
  };
}
