/**
 * The service as a real process (dist/, built by the Jest globalSetup): graceful shutdown on
 * SIGTERM, and durability under load when killed with SIGKILL, on SQLite and on PostgreSQL.
 * Calls are signed by the test EHR issuer (a temporary CDS_TRUSTED_ISSUERS file), as in production.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { jest } from '@jest/globals';
import pg from 'pg';
import { PostgresDatabase } from '../src/records/postgres.js';
import { SqlRecordStore } from '../src/records/sql-store.js';
import { SqliteDatabase } from '../src/records/sqlite.js';
import type { SqlDatabase } from '../src/records/sql.js';
import { clientJwt } from './support/clients.js';
import { startFhirServer } from './support/fhir-server.js';
import { example, orderSignRequest } from './support/hook-client.js';
import { issuersFile, startServiceProcess, type ServiceProcess } from './support/service-process.js';
import { ENGINES, postgresUrl, type Engine } from './support/stores.js';

jest.setTimeout(90_000);

let dir: string;
let issuers: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'crd-process-'));
  issuers = issuersFile(dir);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function post(service: ServiceProcess, path: string, body: unknown): Promise<{ status: number; body: any }> {
  const res = await fetch(service.baseUrl + path, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${await clientJwt(path)}` },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: await res.json() };
}

test('SIGTERM: the instance stops accepting, the request in flight still gets its 200 (and its records), then it exits 0', async () => {
  const fhir = await startFhirServer({ delayMs: 1500 });
  const dataDir = join(dir, 'shutdown');
  const service = await startServiceProcess({ DATA_DIR: dataDir, CDS_FHIR_ALLOWLIST: fhir.baseUrl, FHIR_TIMEOUT_MS: '4000', SHUTDOWN_TIMEOUT_MS: '10000' }, issuers);
  try {
    // No prefetch: the service queries the (slow) loopback FHIR server.
    const request = orderSignRequest({ patient: 'pat-anna', orders: ['ServiceRequest/sr-dn-20560'], encounter: 'enc-anna-inpatient', prefetchEncounter: false, fhirServer: fhir.baseUrl });
    delete request.prefetch;
    const inFlight = post(service, '/cds-services/crd-order-sign', request);
    while (fhir.requests.length === 0) await new Promise((r) => setTimeout(r, 20));
    service.child.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 200));
    // No new connections while it drains.
    await expect(fetch(`${service.baseUrl}/healthz`)).rejects.toMatchObject({ message: expect.stringMatching(/fetch failed/) });
    const answer = await inFlight;
    expect(answer.status).toBe(200);
    const ids = answer.body.systemActions[0].resource.extension.map((e: any) => e.extension.find((p: any) => p.url === 'coverage-assertion-id').valueString);
    expect(await service.exited).toEqual({ code: 0, signal: null });
    expect(service.logs.map((l) => l.event)).toEqual(expect.arrayContaining(['shutdown', 'stopped']));
    const store = new SqlRecordStore(new SqliteDatabase(join(dataDir, 'crd.sqlite')));
    try {
      for (const id of ids) expect(await store.assertion(id)).toBeDefined();
    } finally {
      await store.close();
    }
  } finally {
    service.child.kill('SIGKILL');
    await fhir.close();
  }
});

/** Where each engine's data lives for one durability run, and how to look at it from outside. */
async function database(engine: Engine): Promise<{ env: Record<string, string>; open: () => SqlDatabase; drop: () => Promise<void> }> {
  if (engine === 'sqlite') {
    const dataDir = join(dir, `durability-${randomUUID().slice(0, 8)}`);
    return { env: { DATA_DIR: dataDir }, open: () => new SqliteDatabase(join(dataDir, 'crd.sqlite')), drop: async () => undefined };
  }
  const admin = postgresUrl();
  const name = `crd_durability_${randomUUID().replace(/-/g, '').slice(0, 12)}`;
  const run = async (sql: string) => {
    const client = new pg.Client({ connectionString: admin });
    await client.connect();
    try {
      await client.query(sql);
    } finally {
      await client.end();
    }
  };
  await run(`CREATE DATABASE ${name}`);
  const url = new URL(admin);
  url.pathname = `/${name}`;
  return {
    env: { DATABASE_URL: url.href },
    open: () => new PostgresDatabase({ connectionString: url.href, maxConnections: 2 }),
    drop: () => run(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`),
  };
}

interface Answered {
  assertions: string[];
  cards: string[];
  feedback: string[];
}

/**
 * Hook calls and feedback from `workers` clients; remembers only what was answered 200. `halt()`
 * (just before the kill) ends the loops; `finished()` resolves once they have, failing if anything
 * before the halt went wrong.
 */
function load(service: ServiceProcess, workers: number): { answered: Answered; halt: () => void; finished: () => Promise<number> } {
  const answered: Answered = { assertions: [], cards: [], feedback: [] };
  const examples = ['order-sign-B2-bcbsma-inpatient.json', 'order-sign-M1-medica-commercial.json', 'order-sign-multiple-coverages.json', 'order-sign-B3-bcbsma-setting-unknown.json'];
  let running = true;
  let sent = 0;
  const worker = async (n: number) => {
    for (let i = 0; running; i++) {
      try {
        const body = { ...example(examples[(n + i) % examples.length]!), hookInstance: randomUUID() };
        sent++;
        const hook = await post(service, '/cds-services/crd-order-sign', body);
        if (hook.status !== 200) throw new Error(`hook answered ${hook.status}`);
        for (const action of hook.body.systemActions) {
          for (const e of action.resource.extension) answered.assertions.push(e.extension.find((p: any) => p.url === 'coverage-assertion-id').valueString);
        }
        const card = hook.body.cards[0].uuid as string;
        answered.cards.push(card);
        sent++;
        const feedback = await post(service, '/cds-services/crd-order-sign/feedback', {
          feedback: [{ card, outcome: 'overridden', outcomeTimestamp: new Date().toISOString() }],
        });
        if (feedback.status !== 200) throw new Error(`feedback answered ${feedback.status}`);
        answered.feedback.push(card);
      } catch (error) {
        // Only the kill may interrupt the load.
        if (running) throw error;
      }
    }
  };
  const all = Promise.all(Array.from({ length: workers }, (_, n) => worker(n))).then(
    () => undefined,
    (error: unknown) => error,
  );
  return {
    answered,
    halt: () => {
      running = false;
    },
    finished: async () => {
      const error = await all;
      if (error) throw error;
      return sent;
    },
  };
}

describe.each(ENGINES)('durability on %s', (engine) => {
  test('SIGKILL under load: after a restart every assertion and feedback answered 200 is there, and the database is consistent', async () => {
    const db = await database(engine);
    const service = await startServiceProcess({ ...db.env, LOG_LEVEL: 'warn' }, issuers);
    const traffic = load(service, 6);
    // Let the load run until a good number of calls were answered, then kill mid-flight.
    const until = Date.now() + 30_000;
    while (traffic.answered.feedback.length < 60 && Date.now() < until) await new Promise((r) => setTimeout(r, 25));
    traffic.halt();
    service.child.kill('SIGKILL');
    const killed = await service.exited;
    // Should the load fail before the kill, say what the service was doing (it logs warnings and errors only here).
    const sent = await traffic.finished().catch((error: unknown) => {
      const cause = error instanceof Error ? `${error.message}${error.cause instanceof Error ? ` (${error.cause.message})` : ''}` : String(error);
      throw new Error(`The load failed before the kill: ${cause}; the service ended with ${JSON.stringify(killed)}, its last log lines: ${JSON.stringify(service.logs.slice(-5))}`);
    });
    expect(killed.signal).toBe('SIGKILL');
    const { answered } = traffic;
    expect(answered.feedback.length).toBeGreaterThanOrEqual(60);
    expect(sent).toBeGreaterThan(answered.feedback.length * 2);

    const restarted = await startServiceProcess({ ...db.env, LOG_LEVEL: 'warn' }, issuers);
    const outside = db.open();
    try {
      // Every answered assertion through the service's own lookup, after the restart.
      for (const id of new Set(answered.assertions)) {
        const path = `/coverage-assertions/${id}`;
        const res = await fetch(restarted.baseUrl + path, { headers: { Authorization: `Bearer ${await clientJwt(path)}` } });
        expect(res.status).toBe(200);
      }
      const stored = new Set((await outside.read<{ card_id: string }>('SELECT card_id FROM feedback')).map((r) => r.card_id));
      for (const card of answered.feedback) expect(stored.has(card)).toBe(true);
      // Consistency: every card points at a stored assertion, every 200 audit entry's assertions exist.
      expect(await outside.read('SELECT c.card_id FROM cards c LEFT JOIN coverage_assertions a ON a.assertion_id = c.assertion_id WHERE a.assertion_id IS NULL')).toEqual([]);
      const audits = await outside.read<{ assertion_ids: string }>('SELECT assertion_ids FROM audit_log WHERE status = 200');
      const assertionIds = new Set((await outside.read<{ assertion_id: string }>('SELECT assertion_id FROM coverage_assertions')).map((r) => r.assertion_id));
      expect(audits.length).toBeGreaterThanOrEqual(answered.cards.length);
      for (const a of audits) for (const id of JSON.parse(a.assertion_ids) as string[]) expect(assertionIds.has(id)).toBe(true);
      if (outside instanceof SqliteDatabase) expect(await outside.integrityCheck()).toBe('ok');
      else expect(await outside.read<{ n: number }>('SELECT COUNT(*)::int AS n FROM schema_migrations')).toEqual([{ n: 1 }]);
    } finally {
      await outside.close();
      restarted.child.kill('SIGTERM');
      await restarted.exited;
      await db.drop();
    }
  });
});

test('a second start on the same data folder reuses the database and applies no migration again', async () => {
  const dataDir = join(dir, 'restart');
  for (let i = 0; i < 2; i++) {
    const service = await startServiceProcess({ DATA_DIR: dataDir }, issuers);
    service.child.kill('SIGTERM');
    expect(await service.exited).toEqual({ code: 0, signal: null });
  }
  const db = new SqliteDatabase(join(dataDir, 'crd.sqlite'));
  try {
    expect(await db.read('SELECT version FROM schema_migrations')).toEqual([{ version: 1 }]);
  } finally {
    await db.close();
  }
});
