// @ts-check
/**
 * The thread that holds one SqliteDatabase's connection (src/records/sqlite.ts starts it and says
 * why this file is JavaScript). better-sqlite3 is synchronous: here its statements and the fsync
 * of each commit block this thread, never the service's event loop.
 *
 * Requests arrive on the port in batches (arrays) and are answered on it, in the order they were
 * sent. The main thread sends one batch at a time: what it is asked for while a batch is here goes
 * in the next one (sqlite.ts). Group commit: the writes of a batch, with any others that arrive
 * before this thread's next turn, are committed together in ONE durable transaction, each in its
 * own savepoint so that a failing write undoes only itself; their answers are posted only once that
 * commit is durable. Any other request first commits the writes sent before it, so it sees them (a
 * read after a write, a write after a migration: the order sent is the order applied).
 */
import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { isMainThread, workerData } from 'node:worker_threads';
import { withFingerprints } from './fingerprint.mjs';

/** @typedef {import('./sql.js').Migration} Migration */
/** @typedef {import('./sql.js').SqlValue} SqlValue */
/** @typedef {import('./sql.js').Statement} Statement */

/**
 * What the thread opens, and the port it is asked on: its `workerData`.
 * @typedef {object} Setup
 * @property {string} file a path, or `:memory:` for a private in-memory database
 * @property {string} schemaMigrationsDdl the `schema_migrations` table (sql.ts)
 * @property {Migration[]} migrations applied as the connection opens (before any request)
 * @property {import('node:worker_threads').MessagePort} port requests come in on it (arrays, in order), answers go out on it (arrays)
 */

/**
 * @typedef {{ id: number, kind: 'write', statements: Statement[], documents: readonly unknown[] }} WriteRequest
 * @typedef {WriteRequest
 *   | { id: number, kind: 'read', sql: string, params: SqlValue[] }
 *   | { id: number, kind: 'migrate', migrations: Migration[] }
 *   | { id: number, kind: 'integrity-check' }
 *   | { id: number, kind: 'close' }} Request
 * @typedef {{ message: string, name: string, code?: string }} ErrorInfo
 * @typedef {{ id: number, ok: true, value: unknown } | { id: number, ok: false, error: ErrorInfo }} Reply
 */

if (isMainThread) throw new Error('sqlite-worker.mjs runs as a worker thread, started by src/records/sqlite.ts');
/** @type {Setup} */
const setup = workerData;
const { port } = setup;

/**
 * What the main thread needs of an error: better-sqlite3's SqliteError does not survive a message.
 * @param {unknown} error
 * @returns {ErrorInfo}
 */
function errorInfo(error) {
  const e = /** @type {{ message?: unknown, name?: unknown, code?: unknown }} */ (error instanceof Error ? error : {});
  return {
    message: typeof e.message === 'string' ? e.message : String(error),
    name: typeof e.name === 'string' ? e.name : 'Error',
    ...(typeof e.code === 'string' ? { code: e.code } : {}),
  };
}

/**
 * @param {number} id
 * @param {unknown} error
 * @returns {Reply}
 */
const failed = (id, error) => ({ id, ok: false, error: errorInfo(error) });

/**
 * What ends the thread when the database cannot be opened (a folder that cannot be made, a failing
 * migration): every call waiting for it is rejected with its message, and the next call starts a
 * new thread (sqlite.ts). A plain Error, because the Worker's 'error' event carries little else
 * (better-sqlite3's SqliteError arrives as its `code` alone).
 * @param {string} doing
 * @param {unknown} error
 */
function openingFailed(doing, error) {
  const { name, message } = errorInfo(error);
  return new Error(`${doing} ${setup.file}: ${name}: ${message}`);
}

/** @returns {import('better-sqlite3').Database} */
function open() {
  try {
    if (setup.file !== ':memory:') mkdirSync(dirname(setup.file), { recursive: true });
    const opened = new Database(setup.file);
    // WAL: readers work while a write commits; FULL: each commit is on disk before it is answered,
    // even across a power cut.
    opened.pragma('journal_mode = WAL');
    opened.pragma('synchronous = FULL');
    opened.pragma('busy_timeout = 5000');
    opened.pragma('foreign_keys = ON');
    return opened;
  } catch (error) {
    throw openingFailed('Could not open', error);
  }
}

const db = open();

/** @type {Map<string, import('better-sqlite3').Statement>} */
const statements = new Map();
/** @param {string} sql */
function prepared(sql) {
  let statement = statements.get(sql);
  if (!statement) statements.set(sql, (statement = db.prepare(sql)));
  return statement;
}

/**
 * Applies the migrations not yet in `schema_migrations`; the versions applied.
 * @param {Migration[]} migrations
 * @returns {number[]}
 */
function migrate(migrations) {
  db.exec(setup.schemaMigrationsDdl);
  // An immediate transaction holds the write lock: a second process waits, then sees the rows.
  const apply = db.transaction(() => {
    const done = new Set(/** @type {Array<{ version: number }>} */ (db.prepare('SELECT version FROM schema_migrations').all()).map((r) => r.version));
    /** @type {number[]} */
    const applied = [];
    for (const m of migrations) {
      if (done.has(m.version)) continue;
      db.exec(m.sql);
      db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)').run(m.version, m.name, new Date().toISOString());
      applied.push(m.version);
    }
    return applied;
  });
  return apply.immediate();
}

try {
  if (setup.migrations.length > 0) migrate(setup.migrations);
} catch (error) {
  throw openingFailed('Could not migrate', error);
}

/** One write: its statements in a savepoint (better-sqlite3 nests a transaction as one). */
const one = db.transaction((/** @type {Array<{ sql: string, params: SqlValue[] }>} */ bound) => bound.map((s) => prepared(s.sql).run(...s.params).changes));

/**
 * The batch's writes, each in its own savepoint, in one transaction: one commit, one fsync.
 * A write that failed before (its fingerprints) is answered as failed and not run.
 */
const all = db.transaction(
  (/** @type {Array<{ id: number, bound?: Array<{ sql: string, params: SqlValue[] }>, error?: unknown }>} */ batch) =>
    batch.map((w) => {
      if (!w.bound) return failed(w.id, w.error);
      try {
        return /** @type {Reply} */ ({ id: w.id, ok: true, value: one(w.bound) });
      } catch (error) {
        return failed(w.id, error);
      }
    }),
);

/** @type {WriteRequest[]} */
let pending = [];
let flushScheduled = false;

/** Commits every pending write in one transaction, then answers them all in one message. */
function flush() {
  flushScheduled = false;
  const batch = pending;
  pending = [];
  if (batch.length === 0) return;
  // Fingerprints are computed before the transaction begins, so the write lock is not held meanwhile.
  const bound = batch.map((w) => {
    try {
      return { id: w.id, bound: withFingerprints(w.statements, w.documents) };
    } catch (error) {
      return { id: w.id, error };
    }
  });
  /** @type {Reply[]} */
  let replies;
  try {
    replies = all.immediate(bound);
  } catch (error) {
    // The commit itself failed (disk full, a lock held too long): nothing of the batch was kept.
    replies = batch.map((w) => failed(w.id, error));
  }
  port.postMessage(replies);
}

/**
 * Everything but a write, run at once (after the writes sent before it are committed).
 * @param {Exclude<Request, WriteRequest>} request
 * @returns {unknown}
 */
function run(request) {
  switch (request.kind) {
    case 'read':
      return prepared(request.sql).all(...request.params);
    case 'migrate':
      return migrate(request.migrations);
    case 'integrity-check':
      return /** @type {Array<{ integrity_check: string }>} */ (db.pragma('integrity_check')).map((r) => r.integrity_check).join('; ');
    case 'close':
      db.close();
      return undefined;
  }
}

port.on('message', (/** @type {Request[]} */ requests) => {
  for (const request of requests) {
    if (request.kind === 'write') {
      pending.push(request);
      continue;
    }
    flush();
    /** @type {Reply} */
    let reply;
    try {
      reply = { id: request.id, ok: true, value: run(request) };
    } catch (error) {
      reply = failed(request.id, error);
    }
    port.postMessage([reply]);
  }
  // Whatever else has arrived by this thread's next turn joins the same commit.
  if (pending.length > 0 && !flushScheduled) {
    flushScheduled = true;
    setImmediate(flush);
  }
});
