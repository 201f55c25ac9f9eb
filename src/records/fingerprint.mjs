// @ts-check
/**
 * Fingerprints of documents (the orders a hook call answered): SHA-256, hex, of the RFC 8785
 * canonical JSON, so that a claim system holding the order can recompute it whatever its key order
 * or whitespace. Computed by the engines as they write, once per order per call: SQLite in its worker
 * thread (sqlite-worker.mjs), PostgreSQL in-process (postgres.ts). Plain JavaScript, for the worker
 * thread's sake (sqlite.ts says why).
 */
import canonicalize from 'canonicalize';
import { createHash } from 'node:crypto';

/** @typedef {import('./sql.js').SqlValue} SqlValue */
/** @typedef {import('./sql.js').Statement} Statement */

/**
 * SHA-256 (hex) of the RFC 8785 canonical JSON of `document`. Throws for what RFC 8785 cannot
 * represent (a number out of range, a lone surrogate).
 * @param {unknown} document
 * @returns {string}
 */
export function canonicalSha256(document) {
  return createHash('sha256')
    .update(canonicalize(document) ?? '')
    .digest('hex');
}

/**
 * The statements with each `{ fingerprintOf: n }` parameter replaced by the fingerprint of
 * `documents[n]`; every document is fingerprinted once, however many parameters name it.
 * @param {readonly Statement[]} statements
 * @param {readonly unknown[]} documents
 * @returns {Array<{ sql: string, params: SqlValue[] }>}
 */
export function withFingerprints(statements, documents) {
  /** @type {Array<string | undefined>} */
  const fingerprints = [];
  /** @param {number} n */
  const fingerprint = (n) => {
    if (!Number.isInteger(n) || n < 0 || n >= documents.length) throw new Error(`A statement names document ${n}, but the write has ${documents.length}`);
    return (fingerprints[n] ??= canonicalSha256(documents[n]));
  };
  return statements.map((s) => ({
    sql: s.sql,
    params: s.params.map((p) => (p !== null && typeof p === 'object' ? fingerprint(p.fingerprintOf) : p)),
  }));
}
