import pg from 'pg';
import { withFingerprints } from './fingerprint.mjs';
import { SCHEMA_MIGRATIONS_DDL, type Migration, type SqlDatabase, type SqlValue, type Statement } from './sql.js';

/** `?` placeholders → `$1, $2, ...` (the store's SQL has no `?` inside literals). */
function numbered(sql: string): string {
  let n = 0;
  return sql.replace(/\?/g, () => `$${++n}`);
}

/** Serialises migrations across instances starting together (any constant; this one spells "crd5"). */
const MIGRATION_LOCK = 0x63726435;

export interface PostgresOptions {
  connectionString: string;
  /** A schema to work in (created if missing); the database's default search path otherwise. */
  schema?: string;
  maxConnections?: number;
}

/** PostgreSQL through a `pg` connection pool: several instances of the service share one database. */
export class PostgresDatabase implements SqlDatabase {
  readonly engine = 'postgres' as const;
  private readonly pool: pg.Pool;
  private readonly schema: string | undefined;

  constructor(options: PostgresOptions) {
    if (options.schema !== undefined && !/^[a-z_][a-z0-9_]{0,62}$/.test(options.schema)) throw new Error(`Invalid schema name "${options.schema}"`);
    this.schema = options.schema;
    this.pool = new pg.Pool({
      connectionString: options.connectionString,
      max: options.maxConnections ?? 10,
      connectionTimeoutMillis: 5000,
      idleTimeoutMillis: 30_000,
      ...(options.schema ? { options: `-c search_path=${options.schema}` } : {}),
    });
    // An idle client whose server went away must not crash the process; the next query reports it.
    this.pool.on('error', () => undefined);
  }

  async write(statements: Statement[], documents: readonly unknown[] = []): Promise<number[]> {
    // Before the first await: the documents as they are now, fingerprinted once each.
    const bound = withFingerprints(statements, documents);
    return await this.transaction(async (client) => {
      const counts: number[] = [];
      for (const s of bound) counts.push((await client.query(numbered(s.sql), s.params)).rowCount ?? 0);
      return counts;
    });
  }

  async read<T>(sql: string, params: SqlValue[] = []): Promise<T[]> {
    return (await this.pool.query(numbered(sql), params)).rows as T[];
  }

  migrate(migrations: Migration[]): Promise<number[]> {
    return this.transaction(async (client) => {
      // DDL is transactional in PostgreSQL: a migration and its schema_migrations row commit together.
      // The lock comes first: even CREATE SCHEMA IF NOT EXISTS races with itself.
      await client.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
      if (this.schema) await client.query(`CREATE SCHEMA IF NOT EXISTS ${this.schema}`);
      await client.query(SCHEMA_MIGRATIONS_DDL);
      const done = new Set((await client.query<{ version: number }>('SELECT version FROM schema_migrations')).rows.map((r) => r.version));
      const applied: number[] = [];
      for (const m of migrations) {
        if (done.has(m.version)) continue;
        await client.query(m.sql);
        await client.query('INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)', [m.version, m.name, new Date().toISOString()]);
        applied.push(m.version);
      }
      return applied;
    });
  }

  /** `work` on one pooled connection between BEGIN and COMMIT; any failure rolls it all back. */
  private async transaction<T>(work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      const result = await work(client);
      await client.query('COMMIT');
      return result;
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    } finally {
      client.release();
    }
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}
