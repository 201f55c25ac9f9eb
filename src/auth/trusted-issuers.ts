import { readFileSync } from 'node:fs';
import type { JSONWebKeySet } from 'jose';
import { compileSchema } from '../validation/validators.js';

/**
 * One CDS client issuer this deployment trusts (CDS Hooks 2.0 §Trusting CDS Clients: services
 * SHOULD allow-list `iss` and `jku`). Keys come inline (`jwks`, exchanged out of band) or from
 * `jwks_uri`; `jku` lists the JWK Set URLs a token may point at; `tenants` restricts the `tenant`
 * claim; `fhirServers` are base URLs this issuer's calls may have the service query.
 */
export interface TrustedIssuer {
  iss: string;
  jwks?: JSONWebKeySet;
  jwks_uri?: string;
  jku?: string[];
  tenants?: string[];
  fhirServers?: string[];
}

const httpsUrl = { type: 'string', pattern: '^https?://[^\\s]+$', maxLength: 2048 } as const;

const schema = {
  type: 'array',
  items: {
    type: 'object',
    required: ['iss'],
    additionalProperties: false,
    properties: {
      iss: { type: 'string', minLength: 1, maxLength: 2048 },
      jwks: {
        type: 'object',
        required: ['keys'],
        properties: {
          keys: {
            type: 'array',
            minItems: 1,
            items: {
              type: 'object',
              required: ['kty', 'kid'],
              properties: { kty: { enum: ['EC', 'RSA'] }, kid: { type: 'string', minLength: 1 }, d: false, p: false, q: false },
            },
          },
        },
      },
      jwks_uri: httpsUrl,
      jku: { type: 'array', items: httpsUrl },
      tenants: { type: 'array', items: { type: 'string', minLength: 1 } },
      fhirServers: { type: 'array', items: httpsUrl },
      description: { type: 'string' },
    },
    oneOf: [{ required: ['jwks'] }, { required: ['jwks_uri'] }],
  },
} as const;

const validate = compileSchema<TrustedIssuer[]>(schema, { allErrors: true, strict: false });

export class TrustedIssuersError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TrustedIssuersError';
  }
}

/** Checks a trusted-issuers document; `source` names it in errors. Private keys are refused. */
function parseTrustedIssuers(document: unknown, source: string): TrustedIssuer[] {
  if (!validate(document)) {
    const first = validate.errors?.[0];
    const hint = first?.keyword === 'false schema' ? 'a private key member (d, p, q) must never be here' : first?.message;
    throw new TrustedIssuersError(`${source} at ${first?.instancePath || '/'}: ${hint ?? 'invalid'}`);
  }
  const seen = new Set<string>();
  for (const [i, issuer] of document.entries()) {
    if (seen.has(issuer.iss)) throw new TrustedIssuersError(`${source} at /${i}/iss: "${issuer.iss}" is listed twice`);
    seen.add(issuer.iss);
    for (const [field, urls] of [['jwks_uri', issuer.jwks_uri ? [issuer.jwks_uri] : []], ['jku', issuer.jku ?? []]] as const) {
      for (const url of urls) {
        if (!isFetchableKeyUrl(url)) throw new TrustedIssuersError(`${source} at /${i}/${field}: "${url}" must be https (http only on loopback)`);
      }
    }
  }
  return document;
}

/** JWK Sets are fetched over https; plain http only from this machine (tests, local tools). */
export function isFetchableKeyUrl(url: string): boolean {
  try {
    const parsed = new URL(url);
    if (parsed.protocol === 'https:') return true;
    return parsed.protocol === 'http:' && ['localhost', '127.0.0.1', '[::1]'].includes(parsed.hostname);
  } catch {
    return false;
  }
}

export function loadTrustedIssuers(path: string): TrustedIssuer[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new TrustedIssuersError(`Cannot read the trusted-issuers file ${path}: ${(error as Error).message}`);
  }
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch {
    throw new TrustedIssuersError(`${path} is not valid JSON`);
  }
  return parseTrustedIssuers(document, path);
}
