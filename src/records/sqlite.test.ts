import Database from 'better-sqlite3';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { projectRoot } from '../config.js';
import { SqliteDatabase } from './sqlite.js';

const dir = mkdtempSync(join(tmpdir(), 'sqlite-group-commit-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let files = 0;
async function database(): Promise<{ db: SqliteDatabase; file: string }> {
  const file = join(dir, `db-${++files}.sqlite`);
  const db = new SqliteDatabase(file);
  await db.migrate([{ version: 1, name: 'kv', sql: 'CREATE TABLE kv (k TEXT PRIMARY KEY, v INTEGER NOT NULL)' }]);
  return { db, file };
}

/**
 * Commits in the database's WAL file, counted from the file itself: frames whose header gives the
 * database size (only a transaction's last frame does) and carries the WAL header's salts. (PRAGMA
 * data_version cannot count them: it moves once however many commits another connection made.)
 */
function walCommits(file: string): number {
  const wal = readFileSync(`${file}-wal`);
  const pageSize = wal.readUInt32BE(8);
  const [salt1, salt2] = [wal.readUInt32BE(16), wal.readUInt32BE(20)];
  let commits = 0;
  for (let at = 32; at + 24 + pageSize <= wal.length; at += 24 + pageSize) {
    if (wal.readUInt32BE(at + 8) !== salt1 || wal.readUInt32BE(at + 12) !== salt2) break;
    if (wal.readUInt32BE(at + 4) !== 0) commits++;
  }
  return commits;
}

const insert = (k: string, v = 1) => ({ sql: 'INSERT INTO kv (k, v) VALUES (?, ?)', params: [k, v] });
const upsertIfAbsent = (k: string) => ({ sql: 'INSERT INTO kv (k, v) VALUES (?, 1) ON CONFLICT (k) DO NOTHING', params: [k] });
/** Keeps the worker busy for a moment (a counting query), so that what is asked for next goes to it as one batch. */
const busy = (db: SqliteDatabase) => db.read('WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 200000) SELECT COUNT(*) AS n FROM c');

describe('SQLite writes that reach the worker together share one durable commit', () => {
  test('twenty writes asked for at once, while the worker is busy: one commit, every row there', async () => {
    const { db, file } = await database();
    const before = walCommits(file);
    void busy(db);
    const changes = await Promise.all(Array.from({ length: 20 }, (_, i) => db.write([insert(`k${i}`)])));
    expect(changes).toEqual(Array.from({ length: 20 }, () => [1]));
    expect(walCommits(file) - before).toBe(1);
    expect((await db.read<{ n: number }>('SELECT COUNT(*) AS n FROM kv'))[0]!.n).toBe(20);
    await db.close();
  });

  test('a failing write is undone alone, all or nothing, and its caller alone hears of it', async () => {
    const { db, file } = await database();
    await db.write([insert('taken')]);
    const before = walCommits(file);
    void busy(db);
    const results = await Promise.allSettled([db.write([insert('a')]), db.write([insert('b'), insert('taken')]), db.write([insert('c')])]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect(walCommits(file) - before).toBe(1); // one commit for the three
    // Matched by message: under Jest workers the driver's error class may come from another realm.
    expect(String((results[1] as PromiseRejectedResult).reason?.message)).toMatch(/UNIQUE constraint failed/);
    const rows = await db.read<{ k: string }>('SELECT k FROM kv ORDER BY k');
    expect(rows.map((r) => r.k)).toEqual(['a', 'c', 'taken']); // not 'b': its write failed as a whole
    await db.close();
  });

  test('writes in one commit still see each other in order (a replayed key inserted twice at once)', async () => {
    const { db, file } = await database();
    const before = walCommits(file);
    void busy(db);
    const [first, second] = await Promise.all([db.write([upsertIfAbsent('jti-1')]), db.write([upsertIfAbsent('jti-1')])]);
    expect([first, second]).toEqual([[1], [0]]);
    expect(walCommits(file) - before).toBe(1);
    await db.close();
  });

  test('closing commits what was asked for before', async () => {
    const { db, file } = await database();
    const pending = db.write([insert('last')]);
    await db.close();
    await expect(pending).resolves.toEqual([1]);
    const reopened = new Database(file, { readonly: true });
    expect(reopened.prepare('SELECT k FROM kv').all()).toEqual([{ k: 'last' }]);
    reopened.close();
  });

  test('writes asked for while the worker is busy share one commit, and the event loop stays free meanwhile', async () => {
    const { db, file } = await database();
    const before = walCommits(file);
    // A read that keeps the worker busy for a few hundred milliseconds...
    const slow = db.read<{ n: number }>('WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 1500000) SELECT COUNT(*) AS n FROM c');
    let ticks = 0;
    const ticker = setInterval(() => ticks++, 5);
    // ...while 100 writes are asked for, ten per turn of this thread's event loop.
    const writes: Array<Promise<number[]>> = [];
    for (let turn = 0; turn < 10; turn++) {
      for (let i = 0; i < 10; i++) writes.push(db.write([insert(`t${turn}-${i}`)]));
      await new Promise((resolve) => setImmediate(resolve));
    }
    expect(await slow).toEqual([{ n: 1500000 }]);
    clearInterval(ticker);
    expect(await Promise.all(writes)).toEqual(writes.map(() => [1]));
    expect(walCommits(file) - before).toBe(1);
    // Timers ran while SQLite worked: none of it ran on this thread.
    expect(ticks).toBeGreaterThan(5);
    await db.close();
  });

  test("a write whose document cannot be fingerprinted fails alone; the others' fingerprints are stored", async () => {
    const { db } = await database();
    await db.write([{ sql: 'CREATE TABLE prints (k TEXT PRIMARY KEY, sha TEXT NOT NULL)', params: [] }]);
    const print = (k: string, order: unknown) => db.write([{ sql: 'INSERT INTO prints (k, sha) VALUES (?, ?)', params: [k, { fingerprintOf: 0 }] }], [order]);
    void busy(db);
    const results = await Promise.allSettled([print('a', { b: 2, a: 1 }), print('bad', { text: '\ud800' }), print('c', { x: [1, 'é'] })]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect(String((results[1] as PromiseRejectedResult).reason?.message)).toMatch(/surrogate/i);
    const sha = (text: string) => createHash('sha256').update(text, 'utf8').digest('hex');
    expect(await db.read('SELECT k, sha FROM prints ORDER BY k')).toEqual([
      { k: 'a', sha: sha('{"a":1,"b":2}') },
      { k: 'c', sha: sha('{"x":[1,"é"]}') },
    ]);
    await db.close();
  });

  test('requests take effect in the order sent: a write after a migration, a read after a write', async () => {
    const db = new SqliteDatabase(join(dir, `db-${++files}.sqlite`));
    const migrated = db.migrate([{ version: 1, name: 'kv', sql: 'CREATE TABLE kv (k TEXT PRIMARY KEY, v INTEGER NOT NULL)' }]);
    const written = db.write([insert('after-migration')]);
    const read = db.read<{ k: string }>('SELECT k FROM kv');
    expect(await Promise.all([migrated, written, read])).toEqual([[1], [1], [{ k: 'after-migration' }]]);
    await db.close();
  });

  test('a worker that dies: every call waiting for it is rejected, and the next call starts a new worker on the same file', async () => {
    const { db } = await database();
    await db.write([insert('kept')]);
    const slow = db.read('WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 3000000) SELECT COUNT(*) AS n FROM c');
    const waiting = [db.write([insert('lost-1')]), db.write([insert('lost-2')])];
    await new Promise((resolve) => setTimeout(resolve, 50));
    await db.stopWorker();
    for (const call of [slow, ...waiting]) await expect(call).rejects.toThrow(/SQLite worker thread stopped/);
    // A new worker, the same file: what was committed is there, and writes work again.
    await expect(db.write([insert('after')])).resolves.toEqual([1]);
    expect((await db.read<{ k: string }>('SELECT k FROM kv ORDER BY k')).map((r) => r.k)).toEqual(['after', 'kept']);
    await db.close();
  });

  test('an in-memory database with migrations is usable at once; after its worker dies it starts again empty, with its schema', async () => {
    const db = new SqliteDatabase(':memory:', { migrations: [{ version: 1, name: 'kv', sql: 'CREATE TABLE kv (k TEXT PRIMARY KEY, v INTEGER NOT NULL)' }] });
    await db.write([insert('a')]);
    expect(await db.read('SELECT k FROM kv')).toEqual([{ k: 'a' }]);
    await db.stopWorker();
    expect(await db.read('SELECT k FROM kv')).toEqual([]);
    await db.close();
  });

  test('a migration that fails as the database opens fails every call, not silently', async () => {
    const db = new SqliteDatabase(':memory:', { migrations: [{ version: 1, name: 'broken', sql: 'CREATE TABEL kv (k TEXT)' }] });
    await expect(db.read('SELECT 1 AS one')).rejects.toThrow(/SQLite worker thread stopped \(exit code 1\): Could not migrate :memory:: SqliteError: .*syntax error/);
    await expect(db.write([insert('x')])).rejects.toThrow(/syntax error/);
    await db.close();
  });

  test('once closed, calls are refused without starting a worker', async () => {
    const { db } = await database();
    await db.close();
    await expect(db.read('SELECT 1 AS one')).rejects.toThrow(/closed/);
    await expect(db.close()).resolves.toBeUndefined();
  });

  test('an idle database does not keep the process alive; one with calls in flight does until they are answered', async () => {
    // The built module (Jest's globalSetup builds dist/), run by plain Node in a child process.
    const script = join(dir, 'idle.mjs');
    writeFileSync(
      script,
      [
        `import { SqliteDatabase } from ${JSON.stringify(pathToFileURL(join(projectRoot, 'dist', 'src', 'records', 'sqlite.js')).href)};`,
        `const db = new SqliteDatabase(${JSON.stringify(join(dir, 'idle.sqlite'))});`,
        `await db.migrate([{ version: 1, name: 'kv', sql: 'CREATE TABLE kv (k TEXT PRIMARY KEY, v INTEGER NOT NULL)' }]);`,
        // Not awaited: only the worker's reference keeps the process alive until the commit is answered.
        `db.write([{ sql: 'INSERT INTO kv (k, v) VALUES (?, ?)', params: ['late', 1] }]).then((c) => console.log('written', JSON.stringify(c)));`,
        // And never closed: the process must still end by itself.
      ].join('\n'),
    );
    const started = Date.now();
    const { code, stdout } = await new Promise<{ code: number | null; stdout: string }>((resolve) => {
      const child = execFile(process.execPath, [script], { timeout: 15_000 }, (_error, out) => resolve({ code: child.exitCode, stdout: out }));
    });
    expect({ code, stdout }).toEqual({ code: 0, stdout: 'written [1]\n' });
    expect(Date.now() - started).toBeLessThan(10_000);
    const check = new Database(join(dir, 'idle.sqlite'), { readonly: true });
    expect(check.prepare('SELECT k FROM kv').all()).toEqual([{ k: 'late' }]);
    check.close();
  });

  test('a database dropped without being closed has its worker ended once it is garbage-collected', async () => {
    // In a child process with the built module and --expose-gc; threads are counted in /proc (Linux).
    const script = join(dir, 'dropped.mjs');
    writeFileSync(
      script,
      [
        `import { readdirSync } from 'node:fs';`,
        `import { SqliteDatabase } from ${JSON.stringify(pathToFileURL(join(projectRoot, 'dist', 'src', 'records', 'sqlite.js')).href)};`,
        `const threads = () => readdirSync('/proc/self/task').length;`,
        `const before = threads();`,
        `let db = new SqliteDatabase(':memory:', { migrations: [{ version: 1, name: 'kv', sql: 'CREATE TABLE kv (k TEXT)' }] });`,
        `await db.write([{ sql: 'INSERT INTO kv (k) VALUES (?)', params: ['a'] }]);`,
        `const working = threads();`,
        `db = undefined;`,
        `for (let i = 0; i < 50 && threads() > before; i++) { globalThis.gc(); await new Promise((r) => setTimeout(r, 20)); }`,
        `console.log(JSON.stringify({ started: working - before, left: threads() - before }));`,
      ].join('\n'),
    );
    const stdout = await new Promise<string>((resolve, reject) =>
      execFile(process.execPath, ['--expose-gc', script], { timeout: 15_000 }, (error, out) => (error ? reject(error) : resolve(out))),
    );
    expect(JSON.parse(stdout)).toEqual({ started: 1, left: 0 });
  });
});
