/**
 * The record store, run against both engines: SQLite (a file, WAL) and PostgreSQL (a private
 * schema in the test cluster; these tests fail, never skip, when it is not there).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash, randomUUID } from 'node:crypto';
import type { FhirResource } from 'fhir/r4.js';
import { dropSchema, ENGINES, newSchemaName, postgresUrl, testStore, type TestStore } from '../../test/support/stores.js';
import { PostgresDatabase } from './postgres.js';
import { loadMigrations, type SqlDatabase } from './sql.js';
import { SqlRecordStore } from './sql-store.js';
import { SqliteDatabase } from './sqlite.js';
import type { AnsweredCall } from './store.js';

/** Two orders, keys in no particular order, and their RFC 8785 canonical JSON written out by hand. */
const SR1 = { status: 'draft', resourceType: 'ServiceRequest', id: 'sr-1', intent: 'order', subject: { reference: 'Patient/p-1' }, quantityQuantity: { value: 6, unit: 'sessions' } } as FhirResource;
const SR1_CANONICAL = '{"id":"sr-1","intent":"order","quantityQuantity":{"unit":"sessions","value":6},"resourceType":"ServiceRequest","status":"draft","subject":{"reference":"Patient/p-1"}}';
const SR2 = { resourceType: 'ServiceRequest', id: 'sr-2', note: [{ text: 'dry needling, é' }], status: 'draft', intent: 'order' } as FhirResource;
const SR2_CANONICAL = '{"id":"sr-2","intent":"order","note":[{"text":"dry needling, é"}],"resourceType":"ServiceRequest","status":"draft"}';
const sha256 = (text: string) => createHash('sha256').update(text, 'utf8').digest('hex');

function answered(overrides: Partial<AnsweredCall> = {}): AnsweredCall {
  const assertionId = randomUUID();
  const hookInstance = randomUUID();
  const at = new Date().toISOString();
  return {
    service: 'crd-order-sign',
    hook: 'order-sign',
    hookInstance,
    caller: { iss: 'https://ehr.example.org', tenant: 'clinic-a', jti: 'j-1' },
    recordedAt: at,
    trace: {
      assertions: [
        {
          assertionId, order: 'ServiceRequest/sr-1', orderResource: SR1, coverage: 'Coverage/cov-1', payer: 'bcbsma',
          policy: 'bcbsma-dry-needling', policyVersion: '2022-06', rule: 'B2', covered: 'conditional', paNeeded: 'auth-needed',
          infoNeeded: ['OTH'], billingCode: 'http://www.ama-assn.org/go/cpt|20560', date: at.slice(0, 10),
        },
        {
          assertionId, order: 'ServiceRequest/sr-2', orderResource: SR2, coverage: 'Coverage/cov-1', payer: 'bcbsma',
          policy: 'bcbsma-dry-needling', policyVersion: '2022-06', rule: 'B1', covered: 'not-covered', infoNeeded: [], date: at.slice(0, 10),
        },
      ],
      cards: [
        { card: randomUUID(), assertionId, coverage: 'Coverage/cov-1', payer: 'bcbsma', policy: 'bcbsma-dry-needling', policyVersion: '2022-06', rule: 'B2', covered: 'conditional', paNeeded: 'auth-needed' },
        { card: randomUUID(), assertionId, coverage: 'Coverage/cov-1', payer: 'bcbsma', policy: 'bcbsma-dry-needling', policyVersion: '2022-06', rule: 'B1', covered: 'not-covered' },
      ],
    },
    audit: {
      at, requestId: 'req-1', iss: 'https://ehr.example.org', tenant: 'clinic-a', jti: 'j-1', service: 'crd-order-sign', hook: 'order-sign', hookInstance,
      status: 200, latencyMs: 12.5, orders: ['ServiceRequest/sr-1', 'ServiceRequest/sr-2'], determinations: ['x'], assertionIds: [assertionId],
    },
    ...overrides,
  };
}

const count = async (store: SqlRecordStore, table: string): Promise<number> =>
  Number((await store.database.read<{ n: number | string }>(`SELECT COUNT(*) AS n FROM ${table}`))[0]!.n);

describe.each(ENGINES)('%s record store', (engine) => {
  let t: TestStore;
  beforeEach(async () => {
    t = await testStore(engine);
  });
  afterEach(async () => {
    await t.dispose();
  });

  test('migrations are applied once, in order, and recorded in schema_migrations', async () => {
    const rows = await t.store.database.read<{ version: number; name: string }>('SELECT version, name FROM schema_migrations ORDER BY version');
    expect(rows.map((r) => [Number(r.version), r.name])).toEqual(loadMigrations().map((m) => [m.version, m.name]));
    expect(await t.store.database.migrate(loadMigrations())).toEqual([]);
  });

  test('an answered call: every repetition is stored under its coverage-assertion-id, with its cards and audit entry', async () => {
    const call = answered();
    await t.store.recordAnswer(call);
    const id = call.trace.assertions[0]!.assertionId;
    expect(await t.store.assertion(id)).toEqual({
      id,
      service: 'crd-order-sign',
      hook: 'order-sign',
      hookInstance: call.hookInstance,
      coverage: 'Coverage/cov-1',
      payer: 'bcbsma',
      date: call.recordedAt.slice(0, 10),
      recordedAt: call.recordedAt,
      client: { iss: 'https://ehr.example.org', tenant: 'clinic-a' },
      repetitions: [
        {
          order: 'ServiceRequest/sr-1', orderSha256: sha256(SR1_CANONICAL), policy: 'bcbsma-dry-needling', policyVersion: '2022-06', rule: 'B2',
          covered: 'conditional', paNeeded: 'auth-needed', infoNeeded: ['OTH'], billingCode: 'http://www.ama-assn.org/go/cpt|20560',
        },
        { order: 'ServiceRequest/sr-2', orderSha256: sha256(SR2_CANONICAL), policy: 'bcbsma-dry-needling', policyVersion: '2022-06', rule: 'B1', covered: 'not-covered', infoNeeded: [] },
      ],
    });
    expect(await t.store.assertion(randomUUID())).toBeUndefined();
    expect(await count(t.store, 'cards')).toBe(2);
    const [audit] = await t.store.database.read<Record<string, unknown>>('SELECT * FROM audit_log');
    expect(audit).toMatchObject({ iss: 'https://ehr.example.org', tenant: 'clinic-a', status: 200, hook_instance: call.hookInstance, request_body: null });
    expect(JSON.parse(String(audit!.assertion_ids))).toEqual([id]);
  });

  test("an order annotated for two Coverages is fingerprinted once per call, and each repetition stores the order's fingerprint", async () => {
    const documents: unknown[][] = [];
    const db = t.store.database;
    const watched: SqlDatabase = {
      engine: db.engine,
      write: (statements, docs) => {
        documents.push([...(docs ?? [])]);
        return db.write(statements, docs);
      },
      read: (sql, params) => db.read(sql, params),
      migrate: (migrations) => db.migrate(migrations),
      close: () => db.close(),
    };
    const call = answered();
    const [first, second] = call.trace.assertions;
    const otherCoverage = { ...first!, assertionId: randomUUID(), coverage: 'Coverage/cov-2', payer: 'medica' };
    call.trace.assertions = [first!, second!, otherCoverage];
    await new SqlRecordStore(watched).recordAnswer(call);
    expect(documents).toEqual([[SR1, SR2]]);
    expect((await t.store.assertion(otherCoverage.assertionId))!.repetitions.map((r) => r.orderSha256)).toEqual([sha256(SR1_CANONICAL)]);
    expect((await t.store.assertion(first!.assertionId))!.repetitions.map((r) => r.orderSha256)).toEqual([sha256(SR1_CANONICAL), sha256(SR2_CANONICAL)]);
  });

  test('an answer is stored whole or not at all: a failing statement rolls back the assertions and the audit entry', async () => {
    const first = answered();
    await t.store.recordAnswer(first);
    const second = answered();
    // The same card uuid again violates the cards primary key after the assertions were inserted.
    second.trace.cards[1] = { ...second.trace.cards[1]!, card: first.trace.cards[0]!.card };
    // (The driver's error class may come from another realm than Jest's, so match the message, not the class.)
    await expect(t.store.recordAnswer(second)).rejects.toMatchObject({ message: expect.stringMatching(/unique|duplicate/i) });
    expect(await t.store.assertion(second.trace.assertions[0]!.assertionId)).toBeUndefined();
    expect(await count(t.store, 'audit_log')).toBe(1);
    expect(await count(t.store, 'coverage_assertions')).toBe(2);
  });

  test('feedback is stored and summarised by service, payer, determination, rule, outcome and override reason', async () => {
    const call = answered();
    await t.store.recordAnswer(call);
    const [b2, b1] = call.trace.cards.map((c) => c.card);
    const receivedAt = new Date().toISOString();
    const reason = { system: 'http://crd-dry-needling.example.org/fhir/CodeSystem/override-reason', code: 'will-request-pa' };
    await t.store.record([
      { serviceId: 'crd-order-sign', card: b2!, outcome: 'overridden', overrideReason: { reason, userComment: 'will call' }, outcomeTimestamp: '2026-11-23T10:00:00Z', receivedAt, iss: 'https://ehr.example.org' },
      { serviceId: 'crd-order-sign', card: b2!, outcome: 'overridden', overrideReason: { reason }, outcomeTimestamp: '2026-11-23T10:01:00Z', receivedAt },
      { serviceId: 'crd-order-sign', card: b1!, outcome: 'accepted', acceptedSuggestions: [{ id: 's-1' }], outcomeTimestamp: '2026-11-23T10:02:00Z', receivedAt },
      { serviceId: 'crd-order-select', card: 'not-a-card-we-sent', outcome: 'overridden', outcomeTimestamp: '2026-11-23T10:03:00Z', receivedAt },
    ]);
    const summary = await t.store.feedbackSummary({});
    const reasonKey = `${reason.system}|${reason.code}`;
    expect(summary).toMatchObject({
      total: 4,
      byService: { 'crd-order-sign': 3, 'crd-order-select': 1 },
      byPayer: { bcbsma: 3, '(unknown card)': 1 },
      byDetermination: { 'conditional/auth-needed': 2, 'not-covered': 1, '(unknown card)': 1 },
      byRule: { 'bcbsma-dry-needling#B2': 2, 'bcbsma-dry-needling#B1': 1, '(unknown card)': 1 },
      byOutcome: { overridden: 3, accepted: 1 },
      byOverrideReason: { [reasonKey]: 2, '(no reason given)': 1, '(none)': 1 },
    });
    expect(summary.counts).toContainEqual({
      service: 'crd-order-sign', payer: 'bcbsma', policy: 'bcbsma-dry-needling', rule: 'B2', covered: 'conditional', paNeeded: 'auth-needed',
      outcome: 'overridden', overrideReason: reasonKey, count: 2,
    });
    const [row] = await t.store.database.read<Record<string, unknown>>("SELECT * FROM feedback WHERE outcome = 'accepted'");
    expect(row).toMatchObject({ card_id: b1, accepted_suggestions: '["s-1"]', outcome_at: '2026-11-23T10:02:00Z' });
    // A range that ends before the feedback arrived counts nothing.
    expect((await t.store.feedbackSummary({ to: '2000-01-01T00:00:00.000Z' })).total).toBe(0);
    expect((await t.store.feedbackSummary({ from: '2000-01-01T00:00:00.000Z' })).total).toBe(4);
  });

  test('the jti replay cache: a key is accepted once until it expires, also when checked concurrently', async () => {
    const key = `https://ehr.example.org\u0000${randomUUID()}`;
    expect(await t.store.remember(key, Date.now() + 60_000)).toBe(true);
    expect(await t.store.remember(key, Date.now() + 60_000)).toBe(false);
    const expired = `https://ehr.example.org\u0000${randomUUID()}`;
    expect(await t.store.remember(expired, Date.now() - 1)).toBe(true);
    expect(await t.store.remember(expired, Date.now() + 60_000)).toBe(true);
    const raced = `https://ehr.example.org\u0000${randomUUID()}`;
    const results = await Promise.all(Array.from({ length: 8 }, () => t.store.remember(raced, Date.now() + 60_000)));
    expect(results.filter(Boolean)).toHaveLength(1);
  });

  test('prune deletes audit entries older than the retention cut-off and expired jti entries', async () => {
    const old = answered();
    old.audit.at = '2020-01-01T00:00:00.000Z';
    await t.store.recordAnswer(old);
    await t.store.recordAnswer(answered());
    await t.store.remember('gone', Date.now() - 1000);
    await t.store.remember('kept', Date.now() + 60_000);
    expect(await t.store.prune('2021-01-01T00:00:00.000Z', Date.now())).toEqual({ audit: 1, jti: 1 });
    expect(await count(t.store, 'audit_log')).toBe(1);
    // Assertions are kept: a claim may arrive long after the call.
    expect(await t.store.assertion(old.trace.assertions[0]!.assertionId)).toBeDefined();
  });

  test('ping answers while the database is open and fails once it is closed', async () => {
    await expect(t.store.ping()).resolves.toBeUndefined();
    await t.store.close();
    await expect(t.store.ping()).rejects.toMatchObject({ message: expect.any(String) });
    t = { ...t, dispose: async () => (engine === 'postgres' ? dropSchema(t.where.url!, t.where.schema!) : undefined) };
  });
});

/** Tables and columns (name and declared type family) of a database, to compare the two engines. */
async function columns(db: SqlDatabase): Promise<string[]> {
  const family = (type: string) => (/int/i.test(type) ? 'integer' : /double|real|float/i.test(type) ? 'real' : 'text');
  if (db.engine === 'sqlite') {
    const tables = await db.read<{ name: string }>("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name");
    const out: string[] = [];
    for (const { name } of tables) {
      for (const c of await db.read<{ name: string; type: string; notnull: number }>(`SELECT name, type, "notnull" FROM pragma_table_info('${name}')`)) {
        out.push(`${name}.${c.name} ${family(c.type)}${c.notnull ? ' not null' : ''}`);
      }
    }
    return out.sort();
  }
  const rows = await db.read<{ table_name: string; column_name: string; data_type: string; is_nullable: string }>(
    'SELECT table_name, column_name, data_type, is_nullable FROM information_schema.columns WHERE table_schema = current_schema()',
  );
  // A PRIMARY KEY column is NOT NULL in PostgreSQL whatever it says; SQLite reports what was written.
  return rows.map((r) => `${r.table_name}.${r.column_name} ${family(r.data_type)}${r.is_nullable === 'NO' ? ' not null' : ''}`).sort();
}

test('both engines get the same schema from the same migrations', async () => {
  const sqlite = await testStore('sqlite');
  const postgres = await testStore('postgres');
  try {
    const pk = ['cards.card_id', 'feedback.feedback_id', 'audit_log.audit_id', 'jti_replay.jti_key', 'schema_migrations.version'];
    const normalise = (list: string[]) => list.map((c) => (pk.some((p) => c.startsWith(p + ' ')) ? c.replace(/ not null$/, '') : c));
    expect(normalise(await columns(postgres.store.database))).toEqual(normalise(await columns(sqlite.store.database)));
  } finally {
    await sqlite.dispose();
    await postgres.dispose();
  }
});

test('the SQLite database is a file in WAL mode with full synchronous commits', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'crd-wal-'));
  const db = new SqliteDatabase(join(dir, 'crd.sqlite'));
  try {
    expect(await db.read('PRAGMA journal_mode')).toEqual([{ journal_mode: 'wal' }]);
    expect(await db.read('PRAGMA synchronous')).toEqual([{ synchronous: 2 }]);
    expect(await db.integrityCheck()).toBe('ok');
  } finally {
    await db.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('two PostgreSQL instances starting together apply each migration once (advisory lock)', async () => {
  const url = postgresUrl();
  const schema = newSchemaName();
  const a = new PostgresDatabase({ connectionString: url, schema, maxConnections: 2 });
  const b = new PostgresDatabase({ connectionString: url, schema, maxConnections: 2 });
  try {
    const [first, second] = await Promise.all([a.migrate(loadMigrations()), b.migrate(loadMigrations())]);
    expect([...first, ...second].sort()).toEqual(loadMigrations().map((m) => m.version));
  } finally {
    await a.close();
    await b.close();
    await dropSchema(url, schema);
  }
});

test('migration files must be numbered 001, 002, ... and named NNN_name.sql', () => {
  const dir = mkdtempSync(join(tmpdir(), 'crd-migrations-'));
  try {
    writeFileSync(join(dir, '001_init.sql'), 'CREATE TABLE a (x TEXT);');
    writeFileSync(join(dir, '003_more.sql'), 'CREATE TABLE b (x TEXT);');
    expect(() => loadMigrations(dir)).toThrow(/without gaps.*003_more/);
    writeFileSync(join(dir, 'extra.sql'), '');
    expect(() => loadMigrations(dir)).toThrow(/NNN_name\.sql/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
