/**
 * The bench's policy-scale catalog (bench/lib/policies.mjs) must keep loading as the policy schemas
 * change: 1,000 synthetic policies that pass the start-up checks and leave the shipped answers alone.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CodeableConcept, ServiceRequest } from 'fhir/r4.js';
import { DecisionEngine } from '../src/hooks/engine.js';
import { loadPolicyCatalog } from '../src/policy/load.js';
import { projectRoot } from './support/fixtures.js';

const dir = mkdtempSync(join(tmpdir(), 'bench-catalog-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

test('the synthetic catalog of 1,000 policies loads, and orders still find their service', () => {
  const script = `import { writeSyntheticCatalog } from './bench/lib/policies.mjs'; process.stdout.write(String(writeSyntheticCatalog(${JSON.stringify(dir)})));`;
  const written = execFileSync(process.execPath, ['--input-type=module', '-e', script], { cwd: projectRoot, encoding: 'utf8' });
  expect(written).toBe('1000');

  const catalog = loadPolicyCatalog(dir);
  expect(catalog.policies).toHaveLength(1002);
  expect(catalog.policiesFor('bcbsma', 'dry-needling').map((p) => p.id)).toEqual(['bcbsma-dry-needling']);

  const engine = new DecisionEngine(catalog);
  const order = (code: CodeableConcept) => {
    const resource: ServiceRequest = { resourceType: 'ServiceRequest', id: 'sr', status: 'draft', intent: 'order', subject: { reference: 'Patient/p' }, code };
    return { resource, reference: 'ServiceRequest/sr', contextReference: 'ServiceRequest/sr' };
  };
  expect(engine.inScope(order({ coding: [{ system: 'http://www.ama-assn.org/go/cpt', code: '20560' }] }))?.service).toBe('dry-needling');
  expect(engine.inScope(order({ coding: [{ system: 'http://www.ama-assn.org/go/cpt', code: 'Z00421' }] }))?.service).toBe('bench-service-042');
});
