import {
  createLocalJWKSet,
  createRemoteJWKSet,
  customFetch,
  decodeJwt,
  decodeProtectedHeader,
  errors,
  jwtVerify,
  type JWTVerifyGetKey,
  type ProtectedHeaderParameters,
} from 'jose';
import type { ReplayCache } from './replay-cache.js';
import { isFetchableKeyUrl, type TrustedIssuer } from './trusted-issuers.js';

/** CDS Hooks 2.0 §JWT Signing Algorithm: ES384 and RS384 recommended; never `none`, never HMAC. */
const CLIENT_ALGORITHMS = ['ES384', 'RS384'] as const;

/** Who called, once the JWT is verified; only ids, safe to log. */
export interface AuthenticatedClient {
  iss: string;
  jti: string;
  tenant?: string;
  /** The FHIR base URLs this issuer's calls may have the service query. */
  fhirServers: string[];
}

/**
 * Why a call was refused. The caller gets a bare 401 (cds-hooks.org best practice: don't say why);
 * `reason`, `iss` and `jti` go to the log only. Never holds the token.
 */
export class AuthenticationFailure extends Error {
  constructor(
    readonly reason: string,
    readonly iss?: string,
    readonly jti?: string,
  ) {
    super(`authentication failed: ${reason}`);
    this.name = 'AuthenticationFailure';
  }
}

export interface AuthenticatorOptions {
  replayCache: ReplayCache;
  /** Allowed clock difference for exp, iat and nbf. */
  clockToleranceSeconds?: number;
  /** Oldest `iat` accepted; also bounds how long a jti must be remembered. */
  maxTokenAgeSeconds?: number;
  /** Fetch used for JWK Sets (bounded: size cap, timeouts). */
  fetch?: typeof fetch;
  /** Shortest time between two refetches of one JWK Set prompted by an unknown `kid`. */
  jwksCooldownMs?: number;
  /** How long a fetched JWK Set is used before it is fetched again. */
  jwksCacheMaxAgeMs?: number;
  jwksTimeoutMs?: number;
}

const MAX_TOKEN_LENGTH = 8_192;
const BEARER = /^Bearer[ \t]+([A-Za-z0-9_\-.]+)[ \t]*$/i;

/**
 * Verifies CDS client JWTs (CDS Hooks 2.0 §Trusting CDS Clients and cds-hooks.org best practices):
 * header alg ES384/RS384, typ JWT, kid; `iss` on the trusted list; `jku`, if any, allowed for that
 * issuer; signature against the issuer's keys (inline, `jwks_uri`, or an allowed `jku`, each fetched
 * sets cached and refetched on an unknown kid at most once per cooldown); `aud` = the endpoint
 * called; exp/iat/nbf within the clock tolerance; `tenant` allowed when the issuer restricts it;
 * and `jti` never seen before within the token's lifetime.
 */
export class ClientAuthenticator {
  private readonly issuers: Map<string, TrustedIssuer>;
  private readonly localKeys = new Map<string, JWTVerifyGetKey>();
  private readonly remoteKeys = new Map<string, JWTVerifyGetKey>();
  private readonly tolerance: number;
  private readonly maxAge: number;

  constructor(
    issuers: readonly TrustedIssuer[],
    private readonly options: AuthenticatorOptions,
  ) {
    this.issuers = new Map(issuers.map((issuer) => [issuer.iss, issuer]));
    for (const issuer of issuers) if (issuer.jwks) this.localKeys.set(issuer.iss, createLocalJWKSet(issuer.jwks));
    this.tolerance = options.clockToleranceSeconds ?? 60;
    this.maxAge = options.maxTokenAgeSeconds ?? 3600;
  }

  get issuerCount(): number {
    return this.issuers.size;
  }

  /** Verifies the `Authorization` header of a call to `audience` (the full URL of the endpoint called). */
  async authenticate(authorization: string | undefined, audience: string): Promise<AuthenticatedClient> {
    const token = bearerToken(authorization);
    let header: ProtectedHeaderParameters;
    let iss: string | undefined;
    let jti: string | undefined;
    try {
      header = decodeProtectedHeader(token);
      const unverified = decodeJwt(token);
      iss = typeof unverified.iss === 'string' ? unverified.iss.slice(0, 256) : undefined;
      jti = typeof unverified.jti === 'string' ? unverified.jti.slice(0, 128) : undefined;
    } catch {
      throw new AuthenticationFailure('not a JWS compact JWT');
    }
    if (!CLIENT_ALGORITHMS.includes(header.alg as (typeof CLIENT_ALGORITHMS)[number])) throw new AuthenticationFailure(`alg ${String(header.alg).slice(0, 20)} not accepted`, iss, jti);
    if (typeof header.typ !== 'string' || header.typ.toUpperCase() !== 'JWT') throw new AuthenticationFailure('typ is not JWT', iss, jti);
    if (typeof header.kid !== 'string' || header.kid === '') throw new AuthenticationFailure('no kid', iss, jti);
    const issuer = iss === undefined ? undefined : this.issuers.get(iss);
    if (!issuer) throw new AuthenticationFailure('issuer not trusted', iss, jti);
    if (header.jku !== undefined && !(issuer.jku ?? []).includes(header.jku)) throw new AuthenticationFailure('jku not allowed for this issuer', iss, jti);

    let payload;
    try {
      ({ payload } = await jwtVerify(token, this.keysFor(issuer, header.jku), {
        algorithms: [...CLIENT_ALGORITHMS],
        issuer: issuer.iss,
        audience,
        typ: 'JWT',
        clockTolerance: this.tolerance,
        maxTokenAge: this.maxAge,
        requiredClaims: ['iss', 'aud', 'exp', 'iat', 'jti'],
      }));
    } catch (error) {
      throw new AuthenticationFailure(verificationReason(error), iss, jti);
    }
    if (typeof payload.jti !== 'string' || payload.jti === '' || payload.jti.length > 256) throw new AuthenticationFailure('jti missing or not a string', iss, jti);
    const tenant = typeof payload.tenant === 'string' ? payload.tenant : undefined;
    if (payload.tenant !== undefined && tenant === undefined) throw new AuthenticationFailure('tenant is not a string', iss, jti);
    if (issuer.tenants && (tenant === undefined || !issuer.tenants.includes(tenant))) throw new AuthenticationFailure('tenant not allowed', iss, jti);

    // Remember the jti for as long as this token could still be accepted.
    const lastAcceptedSecond = Math.min(payload.exp!, payload.iat! + this.maxAge) + this.tolerance;
    if (!(await this.options.replayCache.remember(`${issuer.iss}\u0000${payload.jti}`, lastAcceptedSecond * 1000))) {
      throw new AuthenticationFailure('jti replayed', iss, jti);
    }
    return { iss: issuer.iss, jti: payload.jti, ...(tenant !== undefined ? { tenant } : {}), fhirServers: issuer.fhirServers ?? [] };
  }

  /**
   * The keys a token of `issuer` is checked against. Inline keys first (they need no network);
   * then the JWK Set the token's allowed `jku` names, else the issuer's `jwks_uri`.
   */
  private keysFor(issuer: TrustedIssuer, jku: string | undefined): JWTVerifyGetKey {
    const local = this.localKeys.get(issuer.iss);
    const remoteUrl = jku ?? issuer.jwks_uri;
    const remote = remoteUrl !== undefined && isFetchableKeyUrl(remoteUrl) ? this.remote(remoteUrl) : undefined;
    if (local && !remote) return local;
    if (remote && !local) return remote;
    if (!local || !remote) throw new AuthenticationFailure('no keys for this issuer', issuer.iss);
    return async (protectedHeader, token) => {
      try {
        return await local(protectedHeader, token);
      } catch (error) {
        if (error instanceof errors.JWKSNoMatchingKey) return await remote(protectedHeader, token);
        throw error;
      }
    };
  }

  private remote(url: string): JWTVerifyGetKey {
    let keys = this.remoteKeys.get(url);
    if (!keys) {
      keys = createRemoteJWKSet(new URL(url), {
        cooldownDuration: this.options.jwksCooldownMs ?? 30_000,
        cacheMaxAge: this.options.jwksCacheMaxAgeMs ?? 600_000,
        timeoutDuration: this.options.jwksTimeoutMs ?? 2_000,
        ...(this.options.fetch ? { [customFetch]: this.options.fetch } : {}),
      });
      this.remoteKeys.set(url, keys);
    }
    return keys;
  }
}

function bearerToken(authorization: string | undefined): string {
  if (authorization === undefined || authorization === '') throw new AuthenticationFailure('no Authorization header');
  if (authorization.length > MAX_TOKEN_LENGTH) throw new AuthenticationFailure('Authorization header too long');
  const match = BEARER.exec(authorization);
  if (!match) throw new AuthenticationFailure('Authorization is not a Bearer token');
  return match[1]!;
}

/** A short log reason from a jose error; never the token. */
function verificationReason(error: unknown): string {
  if (error instanceof AuthenticationFailure) return error.reason;
  if (error instanceof errors.JWTExpired) return error.claim === 'iat' ? 'iat too old' : 'expired';
  if (error instanceof errors.JWTClaimValidationFailed) return `claim ${error.claim} failed: ${error.reason}`;
  if (error instanceof errors.JWSSignatureVerificationFailed) return 'signature does not verify';
  if (error instanceof errors.JWKSNoMatchingKey) return 'no key with this kid';
  if (error instanceof errors.JWKSTimeout) return 'JWK Set fetch timed out';
  if (error instanceof errors.JOSEAlgNotAllowed) return 'alg not allowed';
  if (error instanceof errors.JOSEError) return error.code;
  return 'key set unavailable';
}
