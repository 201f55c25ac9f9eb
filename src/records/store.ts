import type { ReplayCache } from '../auth/replay-cache.js';
import type { FeedbackRecord, FeedbackStore } from '../feedback/feedback.js';
import type { AnswerTrace, AssertionRepetition } from '../respond/trace.js';

/** Who called, as verified (absent when authentication is off or failed). */
export interface Caller {
  iss?: string;
  tenant?: string;
  jti?: string;
}

/**
 * One hook call and its answer, for the audit log: ids and codes, not resources or names
 * (`request`/`response` only when AUDIT_FULL_RESOURCES is on, and never the access token).
 */
export interface AuditEntry extends Caller {
  at: string;
  requestId?: string;
  service?: string;
  hook?: string;
  hookInstance?: string;
  status: number;
  latencyMs: number;
  orders: string[];
  /** "order coverage policy#rule" of each determination. */
  determinations: string[];
  assertionIds: string[];
  /** Why a call was refused (the OperationOutcome's text). */
  problem?: string;
  request?: unknown;
  response?: unknown;
}

/** A hook call answered 200: what it asserted and its audit entry, stored together before the answer is sent. */
export interface AnsweredCall {
  service: string;
  hook: string;
  hookInstance: string;
  caller: Caller;
  recordedAt: string;
  trace: AnswerTrace;
  audit: AuditEntry;
}

/** `GET /coverage-assertions/{id}`: one coverage-assertion-id and every repetition that carried it. */
export interface CoverageAssertion {
  id: string;
  service: string;
  hook: string;
  hookInstance: string;
  coverage: string;
  payer: string;
  date: string;
  recordedAt: string;
  client: { iss?: string; tenant?: string };
  /** Each repetition as recorded: the order's fingerprint (`orderSha256`) in place of the order. */
  repetitions: Array<Omit<AssertionRepetition, 'assertionId' | 'coverage' | 'payer' | 'date' | 'orderResource'> & { orderSha256: string }>;
}

/** Feedback counted by what the card said and how the clinician reacted. */
export interface FeedbackCount {
  service: string;
  /** Payer, policy, rule and determination of the card; null when the card is not one this service recorded. */
  payer: string | null;
  policy: string | null;
  rule: string | null;
  covered: string | null;
  paNeeded: string | null;
  outcome: string;
  /** "system|code" of the override reason, when one was given. */
  overrideReason: string | null;
  count: number;
}

export interface FeedbackSummary {
  from?: string;
  to?: string;
  total: number;
  byService: Record<string, number>;
  byPayer: Record<string, number>;
  byDetermination: Record<string, number>;
  byRule: Record<string, number>;
  byOutcome: Record<string, number>;
  byOverrideReason: Record<string, number>;
  counts: FeedbackCount[];
}

/**
 * The service's records: coverage assertions and the cards behind them, CDS Hooks feedback, the
 * audit log and the shared jti replay cache. One database (SQLite by default, PostgreSQL with
 * DATABASE_URL); every instance of the service uses the same one, nothing else is kept.
 */
export interface RecordStore extends FeedbackStore, ReplayCache {
  readonly engine: 'sqlite' | 'postgres';
  /** Stores the assertions, cards and audit entry of a call in one transaction. */
  recordAnswer(call: AnsweredCall): Promise<void>;
  /** Stores the audit entry of a call that was not answered 200. */
  recordAudit(entry: AuditEntry): Promise<void>;
  assertion(id: string): Promise<CoverageAssertion | undefined>;
  feedbackSummary(range: { from?: string; to?: string }): Promise<FeedbackSummary>;
  /** Deletes audit entries older than `auditBefore` and jti entries expired at `now`. */
  prune(auditBefore: string, now: number): Promise<{ audit: number; jti: number }>;
  /** Throws when the database cannot be reached, or does not answer within the store's deadline. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

export type { FeedbackRecord };
