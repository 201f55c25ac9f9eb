import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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

const insert = (k: string, v = 1) => ({ sql: 'INSERT INTO kv (k, v) VALUES (?, ?)', params: [k, v] });
const upsertIfAbsent = (k: string) => ({ sql: 'INSERT INTO kv (k, v) VALUES (?, 1) ON CONFLICT (k) DO NOTHING', params: [k] });

describe('SQLite writes asked for in one turn share one durable commit', () => {
  test('twenty writes at once: one commit, every row there', async () => {
    const { db, file } = await database();
    const observer = new Database(file, { readonly: true });
    const commitsBefore = observer.pragma('data_version', { simple: true }) as number;
    const changes = await Promise.all(Array.from({ length: 20 }, (_, i) => db.write([insert(`k${i}`)])));
    expect(changes).toEqual(Array.from({ length: 20 }, () => [1]));
    // data_version moves once per commit made by another connection.
    expect(observer.pragma('data_version', { simple: true })).toBe(commitsBefore + 1);
    expect((await db.read<{ n: number }>('SELECT COUNT(*) AS n FROM kv'))[0]!.n).toBe(20);
    observer.close();
    await db.close();
  });

  test('a failing write is undone alone, all or nothing, and its caller alone hears of it', async () => {
    const { db } = await database();
    await db.write([insert('taken')]);
    const results = await Promise.allSettled([db.write([insert('a')]), db.write([insert('b'), insert('taken')]), db.write([insert('c')])]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    // Matched by message: under Jest workers the driver's error class may come from another realm.
    expect(String((results[1] as PromiseRejectedResult).reason?.message)).toMatch(/UNIQUE constraint failed/);
    const rows = await db.read<{ k: string }>('SELECT k FROM kv ORDER BY k');
    expect(rows.map((r) => r.k)).toEqual(['a', 'c', 'taken']); // not 'b': its write failed as a whole
    await db.close();
  });

  test('writes in one commit still see each other in order (a replayed key inserted twice at once)', async () => {
    const { db } = await database();
    const [first, second] = await Promise.all([db.write([upsertIfAbsent('jti-1')]), db.write([upsertIfAbsent('jti-1')])]);
    expect([first, second]).toEqual([[1], [0]]);
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
});
