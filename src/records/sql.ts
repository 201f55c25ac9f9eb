import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { projectRoot } from '../config.js';

/** A value a statement binds: text, a number, or SQL NULL. */
export type SqlValue = string | number | null;

/**
 * A parameter the engine fills in as it writes: the fingerprint (SHA-256, hex, of the RFC 8785
 * canonical JSON) of `documents[fingerprintOf]`, the documents given with the write. Each document is
 * fingerprinted once per write, by the engine (src/records/fingerprint.mjs): SQLite in its worker
 * thread, PostgreSQL in-process; so the main thread spends nothing on it with SQLite.
 */
export interface Fingerprint {
  fingerprintOf: number;
}

export interface Statement {
  /** SQL with `?` placeholders (PostgreSQL's `$n` are numbered by the driver). */
  sql: string;
  params: Array<SqlValue | Fingerprint>;
}

/** A versioned migration: `src/records/migrations/NNN_name.sql`, applied once, in order. */
export interface Migration {
  version: number;
  name: string;
  sql: string;
}

/**
 * The little the record store needs from a database engine; both engines run the same SQL.
 * Writes are batches committed in one transaction, so a record is all there or not at all.
 */
export interface SqlDatabase {
  readonly engine: 'sqlite' | 'postgres';
  /**
   * Runs the statements in one transaction; the number of rows each changed. `documents` are what
   * the statements' `Fingerprint` parameters name.
   */
  write(statements: Statement[], documents?: readonly unknown[]): Promise<number[]>;
  read<T>(sql: string, params?: SqlValue[]): Promise<T[]>;
  /** Applies the migrations not yet in `schema_migrations`, one instance at a time; the versions applied. */
  migrate(migrations: Migration[]): Promise<number[]>;
  close(): Promise<void>;
}

export const MIGRATIONS_DIR = join(projectRoot, 'src', 'records', 'migrations');

/** The table that says which migrations a database has. */
export const SCHEMA_MIGRATIONS_DDL =
  'CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)';

/** The migrations in `dir`, by version; a gap or a duplicate version is a packaging error. */
export function loadMigrations(dir: string = MIGRATIONS_DIR): Migration[] {
  const migrations = readdirSync(dir)
    .filter((file) => file.endsWith('.sql'))
    .map((file) => {
      const match = /^(\d{3})_([a-z0-9_]+)\.sql$/.exec(file);
      if (!match) throw new Error(`Migration file name must be NNN_name.sql: ${join(dir, file)}`);
      return { version: Number(match[1]), name: match[2]!, sql: readFileSync(join(dir, file), 'utf8') };
    })
    .sort((a, b) => a.version - b.version);
  migrations.forEach((m, i) => {
    if (m.version !== i + 1) throw new Error(`Migrations must be numbered 001, 002, ... without gaps; found ${String(m.version).padStart(3, '0')}_${m.name}.sql`);
  });
  return migrations;
}
