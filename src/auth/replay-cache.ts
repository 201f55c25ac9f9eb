/**
 * Remembers the `jti` of every accepted client JWT until the token could no longer be accepted
 * anyway (CDS Hooks best practice: "jti unseen, then stored for the JWT's lifetime"), so a captured
 * token cannot be replayed. The interface is asynchronous so a shared store (the database, for
 * several instances) can stand in for the in-memory one.
 */
export interface ReplayCache {
  /** Records `key` until `expiresAtMs`; false when it was already recorded and has not expired (a replay). */
  remember(key: string, expiresAtMs: number): Promise<boolean>;
}

/**
 * One process's replay cache. Only verified tokens reach it, and it holds at most `maxEntries`
 * live entries: when full it refuses new tokens (fails closed) rather than forget old ones.
 */
export class MemoryReplayCache implements ReplayCache {
  private readonly entries = new Map<string, number>();
  private nextSweep = 0;

  constructor(
    private readonly maxEntries = 200_000,
    private readonly now: () => number = Date.now,
  ) {}

  get size(): number {
    return this.entries.size;
  }

  remember(key: string, expiresAtMs: number): Promise<boolean> {
    const now = this.now();
    const known = this.entries.get(key);
    if (known !== undefined && known > now) return Promise.resolve(false);
    if (now >= this.nextSweep || this.entries.size >= this.maxEntries) this.sweep(now);
    if (this.entries.size >= this.maxEntries) return Promise.resolve(false);
    this.entries.set(key, expiresAtMs);
    return Promise.resolve(true);
  }

  private sweep(now: number): void {
    for (const [key, expires] of this.entries) if (expires <= now) this.entries.delete(key);
    this.nextSweep = now + 10_000;
  }
}
