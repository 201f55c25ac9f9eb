/**
 * Every example request in cds-hooks/ (one per decision-table row and per hook, see
 * cds-hooks/examples.json) gets the answer its manifest promises, and a conformant one.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { projectRoot } from './support/fixtures.js';
import { coverageInfo, example, postHook, SERVICE_IDS, testApp } from './support/hook-client.js';

interface ManifestEntry { file: string; service: keyof typeof SERVICE_IDS; row: string; status: number; description: string }

const manifest: ManifestEntry[] = JSON.parse(readFileSync(join(projectRoot, 'cds-hooks', 'examples.json'), 'utf8'));
const { app } = testApp();

/** The rule id each decision-table row names in the card detail. */
const RULE_OF_ROW: Record<string, string | undefined> = { M1: 'M1', M2: 'M2', M3: 'M3', B1: 'B1', B2: 'B2', B3: 'B3', B4: 'B4', C1: 'C1' };

test('the manifest lists every example file and every decision-table row', () => {
  const files = readdirSync(join(projectRoot, 'cds-hooks')).filter((f) => f.endsWith('.json') && f !== 'examples.json');
  expect(manifest.map((m) => m.file).sort()).toEqual(files.sort());
  const rows = new Set(manifest.map((m) => m.row));
  for (const row of ['M1', 'M2', 'M3', 'B1', 'B2', 'B3', 'B4', 'D1', 'C1', 'X1']) expect(rows).toContain(row);
  for (const hook of Object.keys(SERVICE_IDS)) expect(manifest.some((m) => m.service === hook)).toBe(true);
});

test.each(manifest.map((m) => [m.file, m] as const))('%s', async (_file, entry) => {
  const { status, body } = await postHook(app, SERVICE_IDS[entry.service], example(entry.file));
  expect(status).toBe(entry.status);
  if (status !== 200) return;
  const rule = RULE_OF_ROW[entry.row];
  if (rule) {
    expect(coverageInfo(body).length).toBeGreaterThan(0);
    expect(body.cards.every((c: any) => c.detail.includes(`rule ${rule}`))).toBe(true);
  } else if (entry.row === 'D1' || entry.row === 'X1') {
    expect(body.cards).toEqual([]);
    expect(coverageInfo(body)).toEqual([]);
  } else {
    expect(coverageInfo(body).length).toBeGreaterThan(1);
  }
});
