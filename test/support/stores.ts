/**
 * Record stores for tests: a private in-memory SQLite database per test app, and for the storage
 * tests a file-backed SQLite database or a private schema in the test PostgreSQL
 * (test/support/postgres-global.mjs starts one). PostgreSQL tests fail, never skip, without it.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { PostgresDatabase } from '../../src/records/postgres.js';
import { loadMigrations } from '../../src/records/sql.js';
import { SqlRecordStore, type RecordStoreOptions } from '../../src/records/sql-store.js';
import { SqliteDatabase } from '../../src/records/sqlite.js';

export const ENGINES = ['sqlite', 'postgres'] as const;
export type Engine = (typeof ENGINES)[number];

/** The test PostgreSQL's URL; throws (so the test fails) when it is not there. */
export function postgresUrl(): string {
  const url = process.env.CRD_TEST_DATABASE_URL;
  if (!url) throw new Error(`PostgreSQL for the tests is not available: ${process.env.CRD_TEST_DATABASE_ERROR ?? 'CRD_TEST_DATABASE_URL is not set'}`);
  return url;
}

/** The in-memory stores made for the current test file. */
const memoryStores: SqlRecordStore[] = [];
// Closed when the test file ends, so that their worker threads do not outlive it (this module is
// loaded once per test file; its afterAll belongs to the file's top level).
if (typeof afterAll === 'function') afterAll(async () => void (await Promise.all(memoryStores.splice(0).map((s) => s.close()))));

/**
 * A fresh in-memory SQLite store (synchronous, so test apps can be built at module level). Its
 * worker applies the schema as it opens, before any call; a failing migration fails every call.
 */
export function memoryStore(options: RecordStoreOptions = {}): SqlRecordStore {
  const store = new SqlRecordStore(new SqliteDatabase(':memory:', { migrations: loadMigrations() }), options);
  memoryStores.push(store);
  return store;
}

export interface TestStore {
  store: SqlRecordStore;
  /** For SQLite: the file; for PostgreSQL: the URL and schema. */
  where: { file?: string; url?: string; schema?: string };
  /** Closes the store and removes its file or schema. */
  dispose(): Promise<void>;
}

/** A new, empty store on `engine`: a SQLite file in a temp folder, or a new schema in the test PostgreSQL. */
export async function testStore(engine: Engine): Promise<TestStore> {
  if (engine === 'sqlite') {
    const dir = mkdtempSync(join(tmpdir(), 'crd-records-'));
    const file = join(dir, 'crd.sqlite');
    const store = await SqlRecordStore.open(new SqliteDatabase(file));
    return {
      store,
      where: { file },
      dispose: async () => {
        await store.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  }
  const url = postgresUrl();
  const schema = newSchemaName();
  const store = await SqlRecordStore.open(new PostgresDatabase({ connectionString: url, schema, maxConnections: 4 }));
  return {
    store,
    where: { url, schema },
    dispose: async () => {
      await store.close();
      await dropSchema(url, schema);
    },
  };
}

export const newSchemaName = (): string => `crd_test_${randomUUID().replace(/-/g, '').slice(0, 16)}`;

export async function dropSchema(url: string, schema: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  } finally {
    await client.end();
  }
}

/** Another connection to the same database, as a second instance of the service would open. */
export async function secondStore(t: TestStore): Promise<SqlRecordStore> {
  return t.where.file
    ? await SqlRecordStore.open(new SqliteDatabase(t.where.file))
    : await SqlRecordStore.open(new PostgresDatabase({ connectionString: t.where.url!, schema: t.where.schema!, maxConnections: 2 }));
}
