import { createHash } from 'node:crypto';
import { newRecordId } from './ids.js';
import type { AnsweredCall, AuditEntry, CoverageAssertion, FeedbackCount, FeedbackRecord, FeedbackSummary, RecordStore } from './store.js';
import { loadMigrations, type Fingerprint, type SqlDatabase, type SqlValue, type Statement } from './sql.js';

const json = (value: unknown): string => JSON.stringify(value);
const orNull = (value: string | undefined): string | null => value ?? null;

function auditStatement(e: AuditEntry): Statement {
  return {
    sql:
      'INSERT INTO audit_log (audit_id, at, request_id, iss, tenant, jti, service_id, hook, hook_instance, status, latency_ms, ' +
      'orders, determinations, assertion_ids, problem, request_body, response_body) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
    params: [
      newRecordId(), e.at, orNull(e.requestId), orNull(e.iss), orNull(e.tenant), orNull(e.jti), orNull(e.service), orNull(e.hook),
      orNull(e.hookInstance), e.status, Math.round(e.latencyMs * 1000) / 1000, json(e.orders), json(e.determinations), json(e.assertionIds),
      orNull(e.problem), e.request === undefined ? null : json(e.request), e.response === undefined ? null : json(e.response),
    ],
  };
}

interface AssertionRow {
  assertion_id: string;
  seq: number;
  service_id: string;
  hook: string;
  hook_instance: string;
  order_ref: string;
  order_sha256: string;
  coverage_ref: string;
  payer_id: string;
  policy_id: string;
  policy_version: string;
  rule_id: string;
  covered: string;
  pa_needed: string | null;
  info_needed: string;
  billing_code: string | null;
  asserted_on: string;
  recorded_at: string;
  iss: string | null;
  tenant: string | null;
}

interface CountRow {
  service_id: string;
  payer_id: string | null;
  policy_id: string | null;
  rule_id: string | null;
  covered: string | null;
  pa_needed: string | null;
  outcome: string;
  override_system: string | null;
  override_code: string | null;
  n: number | string;
}

/** How long a call waits for the database by default (RECORDS_TIMEOUT_MS). */
const DEFAULT_RECORDS_TIMEOUT_MS = 1000;

/**
 * The database did not answer within the store's deadline (a stalled disk, a locked or unreachable
 * PostgreSQL). What was asked may still take effect later: a write is not withdrawn.
 */
export class RecordsTimeout extends Error {
  override readonly name = 'RecordsTimeout';
  constructor(timeoutMs: number) {
    super(`The records database did not answer within ${timeoutMs} ms`);
  }
}

export interface RecordStoreOptions {
  /**
   * How long a call waits for the database before it fails with {@link RecordsTimeout}, which every
   * caller turns into a 503: a hook call is never answered before its records are durable, so a
   * stalled disk would otherwise hold every EHR call until the EHR gave up. Pruning and migrations
   * are not bounded (they may take long on a big table, and nobody waits for them).
   */
  timeoutMs?: number;
}

/** The record store over either engine: the same statements, the same schema (src/records/migrations). */
export class SqlRecordStore implements RecordStore {
  private readonly timeoutMs: number;

  /** A store over a database whose schema is up to date (see `open`). */
  constructor(
    private readonly db: SqlDatabase,
    options: RecordStoreOptions = {},
  ) {
    this.timeoutMs = options.timeoutMs ?? DEFAULT_RECORDS_TIMEOUT_MS;
  }

  /** Applies pending migrations, then returns the store. */
  static async open(db: SqlDatabase, options: RecordStoreOptions = {}): Promise<SqlRecordStore> {
    await db.migrate(loadMigrations());
    return new SqlRecordStore(db, options);
  }

  /** `work`, or a {@link RecordsTimeout} once the deadline has passed, whichever comes first. */
  private within<T>(work: Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => reject(new RecordsTimeout(this.timeoutMs)), this.timeoutMs);
      work.then(
        (value) => {
          clearTimeout(timer);
          resolve(value);
        },
        (error: unknown) => {
          clearTimeout(timer);
          reject(error instanceof Error ? error : new Error(String(error)));
        },
      );
    });
  }

  get engine(): 'sqlite' | 'postgres' {
    return this.db.engine;
  }

  get database(): SqlDatabase {
    return this.db;
  }

  async recordAnswer(call: AnsweredCall): Promise<void> {
    const { caller } = call;
    // Each order's fingerprint is computed by the database as it writes (off the main thread on
    // SQLite), once per order however many repetitions (one per Coverage) annotate it.
    const orders: unknown[] = [];
    const orderIndex = new Map<unknown, number>();
    const fingerprintOf = (order: unknown): Fingerprint => {
      let n = orderIndex.get(order);
      if (n === undefined) orderIndex.set(order, (n = orders.push(order) - 1));
      return { fingerprintOf: n };
    };
    const statements: Statement[] = call.trace.assertions.map((a, seq) => ({
      sql:
        'INSERT INTO coverage_assertions (assertion_id, seq, service_id, hook, hook_instance, order_ref, order_sha256, coverage_ref, payer_id, ' +
        'policy_id, policy_version, rule_id, covered, pa_needed, info_needed, billing_code, asserted_on, recorded_at, iss, tenant) ' +
        'VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
      params: [
        a.assertionId, seq, call.service, call.hook, call.hookInstance, a.order, fingerprintOf(a.orderResource), a.coverage, a.payer, a.policy, a.policyVersion,
        a.rule, a.covered, orNull(a.paNeeded), json(a.infoNeeded), orNull(a.billingCode), a.date, call.recordedAt, orNull(caller.iss), orNull(caller.tenant),
      ],
    }));
    for (const c of call.trace.cards) {
      statements.push({
        sql:
          'INSERT INTO cards (card_id, service_id, hook_instance, assertion_id, coverage_ref, payer_id, policy_id, policy_version, rule_id, covered, pa_needed, issued_at) ' +
          'VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
        params: [c.card, call.service, call.hookInstance, c.assertionId, c.coverage, c.payer, c.policy, c.policyVersion, c.rule, c.covered, orNull(c.paNeeded), call.recordedAt],
      });
    }
    statements.push(auditStatement(call.audit));
    await this.within(this.db.write(statements, orders));
  }

  async recordAudit(entry: AuditEntry): Promise<void> {
    await this.within(this.db.write([auditStatement(entry)]));
  }

  async record(entries: FeedbackRecord[]): Promise<void> {
    const write = this.db.write(
      entries.map((f) => ({
        sql:
          'INSERT INTO feedback (feedback_id, service_id, card_id, outcome, accepted_suggestions, override_system, override_code, override_display, ' +
          'override_comment, outcome_at, received_at, iss, tenant) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
        params: [
          newRecordId(), f.serviceId, f.card, f.outcome, json((f.acceptedSuggestions ?? []).map((s) => s.id)), orNull(f.overrideReason?.reason?.system),
          orNull(f.overrideReason?.reason?.code), orNull(f.overrideReason?.reason?.display), orNull(f.overrideReason?.userComment),
          f.outcomeTimestamp, f.receivedAt, orNull(f.iss), orNull(f.tenant),
        ],
      })),
    );
    await this.within(write);
  }

  async assertion(id: string): Promise<CoverageAssertion | undefined> {
    const rows = await this.within(this.db.read<AssertionRow>('SELECT * FROM coverage_assertions WHERE assertion_id = ? ORDER BY seq', [id]));
    const first = rows[0];
    if (!first) return undefined;
    return {
      id: first.assertion_id,
      service: first.service_id,
      hook: first.hook,
      hookInstance: first.hook_instance,
      coverage: first.coverage_ref,
      payer: first.payer_id,
      date: first.asserted_on,
      recordedAt: first.recorded_at,
      client: { ...(first.iss !== null ? { iss: first.iss } : {}), ...(first.tenant !== null ? { tenant: first.tenant } : {}) },
      repetitions: rows.map((r) => ({
        order: r.order_ref,
        orderSha256: r.order_sha256,
        policy: r.policy_id,
        policyVersion: r.policy_version,
        rule: r.rule_id,
        covered: r.covered,
        ...(r.pa_needed !== null ? { paNeeded: r.pa_needed } : {}),
        infoNeeded: JSON.parse(r.info_needed) as string[],
        ...(r.billing_code !== null ? { billingCode: r.billing_code } : {}),
      })),
    };
  }

  async feedbackSummary(range: { from?: string; to?: string }): Promise<FeedbackSummary> {
    const where: string[] = [];
    const params: SqlValue[] = [];
    if (range.from) {
      where.push('f.received_at >= ?');
      params.push(range.from);
    }
    if (range.to) {
      where.push('f.received_at < ?');
      params.push(range.to);
    }
    const rows = await this.within(this.db.read<CountRow>(
      'SELECT f.service_id, c.payer_id, c.policy_id, c.rule_id, c.covered, c.pa_needed, f.outcome, f.override_system, f.override_code, ' +
        'CAST(COUNT(*) AS INTEGER) AS n FROM feedback f LEFT JOIN cards c ON c.card_id = f.card_id' +
        (where.length > 0 ? ` WHERE ${where.join(' AND ')}` : '') +
        ' GROUP BY f.service_id, c.payer_id, c.policy_id, c.rule_id, c.covered, c.pa_needed, f.outcome, f.override_system, f.override_code' +
        ' ORDER BY f.service_id, c.payer_id, c.policy_id, c.rule_id, f.outcome, f.override_code',
      params,
    ));
    const counts: FeedbackCount[] = rows.map((r) => ({
      service: r.service_id,
      payer: r.payer_id,
      policy: r.policy_id,
      rule: r.rule_id,
      covered: r.covered,
      paNeeded: r.pa_needed,
      outcome: r.outcome,
      overrideReason: r.override_code !== null ? `${r.override_system ?? ''}|${r.override_code}` : null,
      count: Number(r.n),
    }));
    const tally = (key: (c: FeedbackCount) => string | null): Record<string, number> => {
      const out: Record<string, number> = {};
      for (const c of counts) {
        const k = key(c) ?? '(none)';
        out[k] = (out[k] ?? 0) + c.count;
      }
      return out;
    };
    return {
      ...(range.from ? { from: range.from } : {}),
      ...(range.to ? { to: range.to } : {}),
      total: counts.reduce((sum, c) => sum + c.count, 0),
      byService: tally((c) => c.service),
      byPayer: tally((c) => c.payer ?? '(unknown card)'),
      byDetermination: tally((c) => (c.covered === null ? '(unknown card)' : c.paNeeded ? `${c.covered}/${c.paNeeded}` : c.covered)),
      byRule: tally((c) => (c.policy === null ? '(unknown card)' : `${c.policy}#${c.rule}`)),
      byOutcome: tally((c) => c.outcome),
      byOverrideReason: tally((c) => (c.outcome === 'overridden' ? c.overrideReason ?? '(no reason given)' : null)),
      counts,
    };
  }

  async remember(key: string, expiresAtMs: number): Promise<boolean> {
    // Insert, or take over an expired entry; a live entry is left alone and reported as a replay.
    // One statement, so two instances checking the same jti at once cannot both accept it. The key
    // (issuer + jti, NUL-separated) is stored as its SHA-256: fixed length, and PostgreSQL text cannot hold NUL.
    const [changed] = await this.within(this.db.write([
      {
        sql:
          'INSERT INTO jti_replay (jti_key, expires_at) VALUES (?, ?) ' +
          'ON CONFLICT (jti_key) DO UPDATE SET expires_at = excluded.expires_at WHERE jti_replay.expires_at <= ?',
        params: [createHash('sha256').update(key).digest('hex'), expiresAtMs, Date.now()],
      },
    ]));
    return changed === 1;
  }

  async prune(auditBefore: string, now: number): Promise<{ audit: number; jti: number }> {
    const [audit, jti] = await this.db.write([
      { sql: 'DELETE FROM audit_log WHERE at < ?', params: [auditBefore] },
      { sql: 'DELETE FROM jti_replay WHERE expires_at <= ?', params: [now] },
    ]);
    return { audit: audit ?? 0, jti: jti ?? 0 };
  }

  async ping(): Promise<void> {
    await this.within(this.db.read('SELECT 1 AS ok'));
  }

  async close(): Promise<void> {
    await this.db.close();
  }
}
