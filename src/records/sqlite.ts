import { MessageChannel, receiveMessageOnPort, Worker, type MessagePort } from 'node:worker_threads';
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
 * One worker thread and the calls waiting for its answers.
 *
 * One batch of requests is with the worker at a time: what is asked for meanwhile waits in the
 * outbox and goes as the next batch the moment the last answer is in, so the writes of a batch
 * share one commit (one fsync) however fast they come, and the worker is never more than one
 * commit behind. Answers are taken as soon as they are there: on the next call, synchronously
 * (`receiveMessageOnPort`), or else on the port's message event. Without that, an answer that
 * arrived while the event loop was busy with other requests would wait for the end of that turn,
 * and every caller of the batch with it.
 *
 * The thread and its port are referenced (keep the process alive) only while a call waits, so an
 * idle database never holds a process or Jest open.
 */
class Connection {
  readonly worker: Worker;
  private readonly port: MessagePort;
  private readonly waiting = new Map<number, Waiting>();
  private lastId = 0;
  /** Requests asked for while a batch is with the worker, in the order asked. */
  private outbox: Request[] = [];
  /** Requests of the batch with the worker that are not answered yet. */
  private unanswered = 0;
  private failure: Error | undefined;
  /** Its database was dropped without close(): the thread ends once nothing waits for it. */
  private orphaned = false;
  stopped = false;

  constructor(setup: Omit<Setup, 'port'>) {
    const { port1, port2 } = new MessageChannel();
    this.port = port1;
    this.worker = new Worker(WORKER_SCRIPT, { workerData: { ...setup, port: port2 } satisfies Setup, transferList: [port2] });
    this.worker.unref();
    this.port.unref();
    this.port.on('message', (replies: Reply[]) => this.received(replies));
    this.port.on('messageerror', (error: Error) => {
      // An answer that could not be read: its caller would wait forever, so the thread is replaced.
      this.failure = error;
      void this.worker.terminate();
    });
    this.worker.on('error', (error: Error) => {
      this.failure = error;
    });
    this.worker.on('exit', (code: number) => {
      this.stopped = true;
      this.port.close();
      const reason = new Error(`The SQLite worker thread stopped (exit code ${code})${this.failure ? `: ${this.failure.message}` : ''}`);
      const waiting = [...this.waiting.values()];
      this.waiting.clear();
      this.outbox = [];
      for (const w of waiting) w.reject(reason);
    });
  }

  call<T>(ask: Ask): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.takeAnswers();
      const id = ++this.lastId;
      if (this.waiting.size === 0) {
        this.worker.ref();
        this.port.ref();
      }
      this.waiting.set(id, { resolve: resolve as (value: unknown) => void, reject });
      this.outbox.push({ ...ask, id } as Request);
      if (this.unanswered === 0) this.send();
    });
  }

  /** Answers already on the port, settled now rather than at the next turn of the event loop. */
  private takeAnswers(): void {
    if (this.unanswered === 0) return;
    for (let m = receiveMessageOnPort(this.port); m; m = receiveMessageOnPort(this.port)) this.received(m.message as Reply[]);
  }

  private received(replies: Reply[]): void {
    for (const reply of replies) {
      this.unanswered--;
      this.settle(reply.id, reply.ok ? { value: reply.value } : { error: errorFrom(reply.error) });
    }
    if (this.unanswered === 0 && this.outbox.length > 0) this.send();
  }

  private send(): void {
    const batch = this.outbox;
    this.outbox = [];
    if (this.stopped) return;
    try {
      this.port.postMessage(batch);
      this.unanswered += batch.length;
    } catch {
      // A value that cannot be sent (structured clone): each request alone, so only its caller hears of it.
      for (const request of batch) {
        try {
          this.port.postMessage([request]);
          this.unanswered++;
        } catch (error) {
          this.settle(request.id, { error: error instanceof Error ? error : new Error(String(error)) });
        }
      }
    }
  }

  /** Ends the thread once no call waits for it (what was asked for is still answered). */
  orphan(): void {
    this.orphaned = true;
    if (this.waiting.size === 0) void this.worker.terminate();
  }

  private settle(id: number, outcome: { value?: unknown; error?: Error }): void {
    const waiting = this.waiting.get(id);
    if (!waiting) return;
    this.waiting.delete(id);
    if (this.waiting.size === 0) {
      this.worker.unref();
      this.port.unref();
      if (this.orphaned) void this.worker.terminate();
    }
    if (outcome.error) waiting.reject(outcome.error);
    else waiting.resolve(outcome.value);
  }
}

/**
 * The connection of a SqliteDatabase that was garbage-collected without close(): nothing can call
 * it any more, so its thread (a V8 isolate, about 10 MB) ends. A safety net only: under Jest the
 * thread's listeners keep the test file's context, and so its stores, reachable; the tests' helper
 * closes its in-memory stores instead (test/support/stores.ts).
 */
const dropped = new FinalizationRegistry<{ connection?: Connection | undefined }>((current) => current.connection?.orphan());

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
 * writes asked for while the worker is busy share its next durable commit, each in its own
 * savepoint so that one failing write undoes only itself; every caller hears back once the shared
 * commit is durable. Requests take effect in the order they were made.
 *
 * If the worker dies, every call waiting for it is rejected, and the next call starts a new worker
 * on the same file (an in-memory database starts empty again, with `migrations` applied).
 */
export class SqliteDatabase implements SqlDatabase {
  readonly engine = 'sqlite' as const;
  private readonly setup: Omit<Setup, 'port'>;
  /** The worker in use, in a holder of its own: the finalizer of a dropped database must not hold the database. */
  private readonly current: { connection?: Connection | undefined } = {};
  private closed = false;

  /** `file` is a path, or `:memory:` for a private in-memory database. The worker starts with the first call. */
  constructor(
    readonly file: string,
    options: SqliteOptions = {},
  ) {
    this.setup = { file, schemaMigrationsDdl: SCHEMA_MIGRATIONS_DDL, migrations: options.migrations ?? [] };
    dropped.register(this, this.current, this);
  }

  private ask<T>(ask: Ask): Promise<T> {
    if (this.closed) return Promise.reject(new Error('The SQLite database is closed'));
    if (!this.current.connection || this.current.connection.stopped) this.current.connection = new Connection(this.setup);
    return this.current.connection.call<T>(ask);
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
    dropped.unregister(this);
    const connection = this.current.connection;
    this.current.connection = undefined;
    if (!connection || connection.stopped) return;
    try {
      await connection.call({ kind: 'close' });
    } finally {
      await connection.worker.terminate();
    }
  }

  /** Ends the worker thread abruptly, as a crash would; for tests of what follows. */
  async stopWorker(): Promise<void> {
    await this.current.connection?.worker.terminate();
  }
}

