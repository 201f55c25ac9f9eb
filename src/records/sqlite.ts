import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { withFingerprints } from './fingerprint.mjs';
import { SCHEMA_MIGRATIONS_DDL, type Migration, type SqlDatabase, type SqlValue, type Statement } from './sql.js';

/** A write waiting for the next commit. */
interface PendingWrite {
  statements: Statement[];
  documents: readonly unknown[];
  resolve: (changes: number[]) => void;
  reject: (error: Error) => void;
}

/**
 * The embedded default: one SQLite file (better-sqlite3), no server. WAL lets readers work while a
 * write commits; `synchronous = FULL` makes each commit durable before the answer is sent, even
 * across a power cut. Calls are synchronous and short, so the event loop is held only briefly.
 *
 * Group commit: the durable commit (an fsync) costs far more than the rows, and made one hook call
 * per commit the ceiling of the whole service (docs/performance.md). Writes asked for in one turn
 * of the event loop are committed together, each in its own savepoint so that one failing write
 * undoes only itself; every caller hears back only once the shared commit is durable.
 */
export class SqliteDatabase implements SqlDatabase {
  readonly engine = 'sqlite' as const;
  private pending: PendingWrite[] = [];
  private flushScheduled = false;
  private readonly db: Database.Database;
  private readonly statements = new Map<string, Database.Statement>();

  /** `file` is a path, or `:memory:` for a private in-memory database. */
  constructor(readonly file: string) {
    if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true });
    this.db = new Database(file);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = FULL');
    this.db.pragma('busy_timeout = 5000');
    this.db.pragma('foreign_keys = ON');
  }

  private prepared(sql: string): Database.Statement {
    let statement = this.statements.get(sql);
    if (!statement) this.statements.set(sql, (statement = this.db.prepare(sql)));
    return statement;
  }

  write(statements: Statement[], documents: readonly unknown[] = []): Promise<number[]> {
    return new Promise((resolve, reject) => {
      this.pending.push({ statements, documents, resolve, reject });
      if (!this.flushScheduled) {
        this.flushScheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  /** Commits every pending write in one transaction (better-sqlite3 nests each as a savepoint). */
  private flush(): void {
    this.flushScheduled = false;
    const batch = this.pending;
    this.pending = [];
    if (batch.length === 0) return;
    const one = this.db.transaction((statements: Array<{ sql: string; params: SqlValue[] }>) => statements.map((s) => this.prepared(s.sql).run(...s.params).changes));
    const all = this.db.transaction(() =>
      batch.map((w) => {
        try {
          return { changes: one(withFingerprints(w.statements, w.documents)) };
        } catch (error) {
          return { error: error as Error };
        }
      }),
    );
    let outcomes: Array<{ changes?: number[]; error?: Error }>;
    try {
      outcomes = all.immediate();
    } catch (error) {
      for (const w of batch) w.reject(error as Error);
      return;
    }
    batch.forEach((w, i) => {
      const outcome = outcomes[i]!;
      if (outcome.error) w.reject(outcome.error);
      else w.resolve(outcome.changes!);
    });
  }

  read<T>(sql: string, params: SqlValue[] = []): Promise<T[]> {
    try {
      return Promise.resolve(this.prepared(sql).all(...params) as T[]);
    } catch (error) {
      return Promise.reject(error as Error);
    }
  }

  migrate(migrations: Migration[]): Promise<number[]> {
    try {
      return Promise.resolve(this.migrateNow(migrations));
    } catch (error) {
      return Promise.reject(error as Error);
    }
  }

  /** `migrate`, synchronously (SQLite needs no round trip). */
  migrateNow(migrations: Migration[]): number[] {
    this.db.exec(SCHEMA_MIGRATIONS_DDL);
      // An immediate transaction holds the write lock: a second process waits, then sees the rows.
      const apply = this.db.transaction(() => {
        const done = new Set((this.db.prepare('SELECT version FROM schema_migrations').all() as Array<{ version: number }>).map((r) => r.version));
        const applied: number[] = [];
        for (const m of migrations) {
          if (done.has(m.version)) continue;
          this.db.exec(m.sql);
          this.db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)').run(m.version, m.name, new Date().toISOString());
          applied.push(m.version);
        }
        return applied;
      });
    return apply.immediate();
  }

  /** `PRAGMA integrity_check`: "ok" when the file is consistent. */
  integrityCheck(): string {
    return (this.db.pragma('integrity_check') as Array<{ integrity_check: string }>).map((r) => r.integrity_check).join('; ');
  }

  close(): Promise<void> {
    if (this.db.open) {
      this.flush(); // what was asked for before closing is committed
      this.db.close();
    }
    return Promise.resolve();
  }
}
