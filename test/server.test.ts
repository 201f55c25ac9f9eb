/** The composition root: policies are checked before the service listens. */
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../src/config.js';
import { PolicyLoadError } from '../src/policy/load.js';
import { startServer } from '../src/server.js';
import { projectRoot } from './support/fixtures.js';

test('the service starts with the shipped policies and answers discovery', async () => {
  const logs: Array<Record<string, unknown>> = [];
  const server = await startServer({ ...loadConfig({}), port: 0 }, (e) => logs.push(e));
  try {
    const { port } = server.address() as AddressInfo;
    const res = await fetch(`http://127.0.0.1:${port}/cds-services`);
    expect(res.status).toBe(200);
    expect(((await res.json()) as { services: unknown[] }).services).toHaveLength(4);
    expect(logs[0]).toMatchObject({ event: 'listening', policies: ['bcbsma-dry-needling', 'medica-central-mp9672'] });
  } finally {
    server.close();
  }
});

test('a bad policy file stops start-up with a message naming the file and the JSON path', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'crd-start-'));
  try {
    cpSync(join(projectRoot, 'policies'), dir, { recursive: true });
    writeFileSync(join(dir, 'coverage', 'broken.json'), JSON.stringify({ id: 'broken', payer: 'bcbsma', title: 'x', service: 'dry-needling', versions: [], scope: ['definite'], links: [], overrideReasons: [], rules: [] }));
    const start = startServer({ ...loadConfig({ POLICY_DIR: dir }), port: 0 }, () => undefined);
    await expect(start).rejects.toThrow(PolicyLoadError);
    await expect(start).rejects.toThrow(/coverage\/broken\.json at \/versions: must NOT have fewer than 1 items/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
