import { join } from 'node:path';
import { PostgresDatabase } from './postgres.js';
import { SqlRecordStore, type RecordStoreOptions } from './sql-store.js';
import { SqliteDatabase } from './sqlite.js';

export interface DatabaseSettings {
  /** `postgres://…` selects PostgreSQL; unset, the SQLite file `crd.sqlite` in `dataDir`. */
  databaseUrl?: string;
  dataDir: string;
  /** How long a call waits for the database before a 503 (RECORDS_TIMEOUT_MS). */
  recordsTimeoutMs?: number;
}

/** The SQLite file used when no DATABASE_URL is set. */
export const sqliteFile = (dataDir: string): string => join(dataDir, 'crd.sqlite');

/** Opens the configured database and brings its schema up to date (versioned migrations). */
export async function openRecordStore(settings: DatabaseSettings): Promise<SqlRecordStore> {
  const db = settings.databaseUrl ? new PostgresDatabase({ connectionString: settings.databaseUrl }) : new SqliteDatabase(sqliteFile(settings.dataDir));
  try {
    const options: RecordStoreOptions = settings.recordsTimeoutMs === undefined ? {} : { timeoutMs: settings.recordsTimeoutMs };
    return await SqlRecordStore.open(db, options);
  } catch (error) {
    await db.close().catch(() => undefined);
    throw error;
  }
}
