import { Worker } from 'node:worker_threads';
import { SCHEMA_MIGRATIONS_DDL, type Migration, type SqlDatabase, type SqlValue, type Statement } from './sql.js';
import type { ErrorInfo, Reply, Request, Setup } from './sqlite-worker.mjs';

/**
 * The worker thread's script, beside this module. It is plain JavaScript (`// @ts-check`, JSDoc
 * types: `npm run lint` checks it) because Node loads a worker's script itself: under Jest, which
 * runs these TypeScript sources through ts-jest, a `.ts` worker could not be loaded at all. The
 * build's `tsc -p tsconfig.build.json` (`allowJs`) emits it to dist/src/records/ next to the
 * compiled sqlite.js, so the same relative URL finds it in src/ (tests) and in dist/ (`npm start`,
 * the Docker image, which copies dist/).
 */
const WORKER_SCRIPT = new URL('./sqlite-worker.mjs', import.meta.url);

/** A request without its id (the connection numbers them). */
type Ask = Request extends infer R ? (R extends Request ? Omit<R, 'id'> : never) : never;

interface Waiting {
  resolve: (value: unknown) => void;
  reject: (error: Error) => void;
}

function errorFrom(info: ErrorInfo): Error {
  const error = new Error(info.message) as Error & { code?: string };
  error.name = info.name;
  if (info.code !== undefined) error.code = info.code;
  return error;
}

/**
 * One worker thread and the calls waiting for its answers. The thread is referenced (keeps the
 * process alive) only while a call waits, so an idle database never holds a process or Jest open.
 */
class Connection {
  readonly worker: Worker;
  private readonly waiting = new Map<number, Waiting>();
  private lastId = 0;
  private failure: Error | undefined;
  stopped = false;

  constructor(setup: Setup) {
    this.worker = new Worker(WORKER_SCRIPT, { workerData: setup });
    this.worker.unref();
    this.worker.on('message', (replies: Reply[]) => {
      for (const reply of replies) this.settle(reply);
    });
    this.worker.on('error', (error: Error) => {
      this.failure = error;
    });
    this.worker.on('messageerror', (error: Error) => {
      // An answer that could not be read: its caller would wait forever, so the thread is replaced.
      this.failure = error;
      void this.worker.terminate();
    });
    this.worker.on('exit', (code: number) => {
      this.stopped = true;
      const reason = new Error(`The SQLite worker thread stopped (exit code ${code})${this.failure ? `: ${this.failure.message}` : ''}`);
      const waiting = [...this.waiting.values()];
      this.waiting.clear();
      for (const w of waiting) w.reject(reason);
    });
  }

  call<T>(ask: Ask): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const id = ++this.lastId;
      try {
        this.worker.postMessage({ ...ask, id });
      } catch (error) {
        // A value that cannot be sent (structured clone), before anything reached the thread.
        reject(error instanceof Error ? error : new Error(String(error)));
        return;
      }
      if (this.waiting.size === 0) this.worker.ref();
      this.waiting.set(id, { resolve: resolve as (value: unknown) => void, reject });
    });
  }

  private settle(reply: Reply): void {
    const waiting = this.waiting.get(reply.id);
    if (!waiting) return;
    this.waiting.delete(reply.id);
    if (this.waiting.size === 0) this.worker.unref();
    if (reply.ok) waiting.resolve(reply.value);
    else waiting.reject(errorFrom(reply.error));
  }
}

export interface SqliteOptions {
  /**
   * Migrations the worker applies as it opens the connection, before any call: a database usable
   * as soon as it is constructed (tests' in-memory stores). A failing migration fails every call.
   */
  migrations?: Migration[];
}

/**
 * The embedded default: one SQLite file (better-sqlite3), no server. WAL lets readers work while a
 * write commits; `synchronous = FULL` makes each commit durable before the answer is sent, even
 * across a power cut.
 *
 * The connection lives in a worker thread (sqlite-worker.mjs): better-sqlite3 is synchronous, and
 * its statements and each commit's fsync held the event loop for a fifth of its time under load
 * (docs/performance.md). The main thread only posts requests and reads answers. Group commit: the
 * writes that reach the worker while it is busy share one durable commit, each in its own savepoint
 * so that one failing write undoes only itself; every caller hears back once the shared commit is
 * durable. Requests take effect in the order they were made.
 *
 * If the worker dies, every call waiting for it is rejected, and the next call starts a new worker
 * on the same file (an in-memory database starts empty again, with `migrations` applied).
 */
export class SqliteDatabase implements SqlDatabase {
  readonly engine = 'sqlite' as const;
  private readonly setup: Setup;
  private connection: Connection | undefined;
  private closed = false;

  /** `file` is a path, or `:memory:` for a private in-memory database. The worker starts with the first call. */
  constructor(
    readonly file: string,
    options: SqliteOptions = {},
  ) {
    this.setup = { file, schemaMigrationsDdl: SCHEMA_MIGRATIONS_DDL, migrations: options.migrations ?? [] };
  }

  private ask<T>(ask: Ask): Promise<T> {
    if (this.closed) return Promise.reject(new Error('The SQLite database is closed'));
    if (!this.connection || this.connection.stopped) this.connection = new Connection(this.setup);
    return this.connection.call<T>(ask);
  }

  write(statements: Statement[], documents: readonly unknown[] = []): Promise<number[]> {
    return this.ask({ kind: 'write', statements, documents });
  }

  read<T>(sql: string, params: SqlValue[] = []): Promise<T[]> {
    return this.ask({ kind: 'read', sql, params });
  }

  migrate(migrations: Migration[]): Promise<number[]> {
    return this.ask({ kind: 'migrate', migrations });
  }

  /** `PRAGMA integrity_check`: "ok" when the file is consistent. */
  integrityCheck(): Promise<string> {
    return this.ask({ kind: 'integrity-check' });
  }

  /** Commits what was asked for before, closes the connection and ends the worker. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const connection = this.connection;
    this.connection = undefined;
    if (!connection || connection.stopped) return;
    try {
      await connection.call({ kind: 'close' });
    } finally {
      await connection.worker.terminate();
    }
  }

  /** Ends the worker thread abruptly, as a crash would; for tests of what follows. */
  async stopWorker(): Promise<void> {
    await this.connection?.worker.terminate();
  }
}
