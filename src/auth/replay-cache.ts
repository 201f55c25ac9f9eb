/**
 * Remembers the `jti` of every accepted client JWT until the token could no longer be accepted
 * anyway (CDS Hooks best practice: "jti unseen, then stored for the JWT's lifetime"), so a captured
 * token cannot be replayed. The records database implements it (src/records/sql-store.ts), so
 * every instance of the service behind a load balancer shares one cache.
 */
export interface ReplayCache {
  /** Records `key` until `expiresAtMs`; false when it was already recorded and has not expired (a replay). */
  remember(key: string, expiresAtMs: number): Promise<boolean>;
}
