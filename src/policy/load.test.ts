import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { projectRoot } from '../config.js';
import { loadPolicyCatalog, PolicyLoadError } from './load.js';
import type { CoveragePolicyDoc, PayersDoc } from './types.js';

const SHIPPED = join(projectRoot, 'policies');
const MEDICA = 'coverage/medica-central-mp9672.json';
const BCBS = 'coverage/bcbsma-dry-needling.json';

const copies: string[] = [];
afterAll(() => {
  for (const dir of copies) rmSync(dir, { recursive: true, force: true });
});

/** A private copy of policies/ to break. */
function copy(): string {
  const dir = mkdtempSync(join(tmpdir(), 'policies-'));
  cpSync(SHIPPED, dir, { recursive: true });
  copies.push(dir);
  return dir;
}
function edit<T>(dir: string, file: string, change: (doc: T) => void): void {
  const path = join(dir, file);
  const doc = JSON.parse(readFileSync(path, 'utf8')) as T;
  change(doc);
  writeFileSync(path, JSON.stringify(doc, null, 2));
}
/** A copy of policies/ with one change to one file. */
function broken<T>(file: string, change: (doc: T) => void): string {
  const dir = copy();
  edit(dir, file, change);
  return dir;
}
function loadError(dir: string): PolicyLoadError {
  try {
    loadPolicyCatalog(dir);
  } catch (error) {
    expect(error).toBeInstanceOf(PolicyLoadError);
    return error as PolicyLoadError;
  }
  throw new Error(`policies in ${dir} loaded, but should not have`);
}
/** The load fails, and the message names the file and the JSON path of the problem. */
function expectProblem(dir: string, file: string, path: string, message: RegExp): PolicyLoadError {
  const error = loadError(dir);
  expect(error.problems).toContainEqual(expect.objectContaining({ file, path, message: expect.stringMatching(message) }));
  expect(error.message).toContain(`${file} at ${path === '' ? '/' : path}: `);
  return error;
}
const ruleIndex = (policy: CoveragePolicyDoc, id: string) => policy.rules.findIndex((r) => r.id === id);

describe('the shipped policies', () => {
  const catalog = loadPolicyCatalog(SHIPPED);

  test('load: two payers, one service, two policies', () => {
    expect(catalog.payers.map((p) => p.id).sort()).toEqual(['bcbsma', 'medica-central']);
    expect([...catalog.services.keys()]).toEqual(['dry-needling']);
    expect(catalog.policies.map((p) => p.id).sort()).toEqual(['bcbsma-dry-needling', 'medica-central-mp9672']);
  });

  test('both payers are served and each has its own policy', () => {
    expect(catalog.isServed('bcbsma')).toBe(true);
    expect(catalog.isServed('medica-central')).toBe(true);
    expect(catalog.isServed('acme')).toBe(false);
    expect(catalog.policiesFor('medica-central').map((p) => p.number)).toEqual(['MP9672']);
    expect(catalog.policiesFor('nobody')).toEqual([]);
  });

  test('every DECISIONS row has its rule', () => {
    expect(catalog.policiesFor('medica-central')[0]!.rules.map((r) => r.id)).toEqual(expect.arrayContaining(['C1', 'M1', 'M2', 'M3']));
    expect(catalog.policiesFor('bcbsma')[0]!.rules.map((r) => r.id)).toEqual(expect.arrayContaining(['C1', 'B1', 'B2', 'B3', 'B4']));
  });

  test('an unchanged copy loads too (the copies below differ by one change only)', () => {
    expect(loadPolicyCatalog(copy()).policies).toHaveLength(2);
  });
});

describe('a broken policy stops start-up with a PolicyLoadError naming the file and JSON path', () => {
  test('an unknown property in a policy rule', () => {
    const dir = broken<CoveragePolicyDoc>(MEDICA, (p) => {
      (p.rules[1]!.when as Record<string, unknown>).foo = true;
    });
    const error = loadError(dir);
    const problem = error.problems.find((p) => p.file === MEDICA && /foo/.test(p.message));
    expect(problem?.path).toMatch(/^\/rules\/1\/when(\/foo)?$/);
    expect(error.message).toMatch(/coverage\/medica-central-mp9672\.json at \/rules\/1\/when(\/foo)?: .*foo/);
  });

  test('a value outside its enumeration', () => {
    const dir = broken<CoveragePolicyDoc>(BCBS, (p) => {
      (p.rules[0]!.card as { indicator: string }).indicator = 'urgent';
    });
    expectProblem(dir, BCBS, '/rules/0/card/indicator', /must be one of "info", "warning", "critical"/);
  });

  test('a bad regular expression in services/', () => {
    const dir = broken<{ descriptionPatterns: unknown[] }>('services/dry-needling.json', (s) => {
      s.descriptionPatterns.push('\\bdry (needl');
    });
    expectProblem(dir, 'services/dry-needling.json', '/descriptionPatterns/7', /not a valid regular expression/);
  });

  test('a bad regular expression in a payer plan-name pattern', () => {
    const dir = broken<PayersDoc>('payers.json', (d) => {
      d.payers[0]!.planNamePatterns.push({ pattern: '[medicare', productLine: 'medicare-advantage' });
    });
    expectProblem(dir, 'payers.json', '/payers/0/planNamePatterns/2', /not a valid regular expression/);
  });

  test('a policy for a payer not in payers.json', () => {
    const dir = broken<CoveragePolicyDoc>(MEDICA, (p) => {
      p.payer = 'medica';
    });
    expectProblem(dir, MEDICA, '/payer', /unknown payer "medica"/);
  });

  test('a policy for a service not in services/', () => {
    const dir = broken<CoveragePolicyDoc>(BCBS, (p) => {
      p.service = 'acupuncture';
    });
    expectProblem(dir, BCBS, '/service', /unknown service "acupuncture"/);
  });

  test('a card summary that can reach 140 characters or more', () => {
    let index = -1;
    const dir = broken<CoveragePolicyDoc>(BCBS, (p) => {
      index = ruleIndex(p, 'B1');
      p.rules[index]!.card.summary = '{payerName} ({productLine}): dry needling is investigational and not a covered service when performed outpatient';
    });
    expectProblem(dir, BCBS, `/rules/${index}/card/summary`, /can reach \d+ characters; CDS Hooks requires fewer than 140/);
  });

  test('a summary that fits only with a short product line is still refused (worst case is checked)', () => {
    // 'another government program' (27) is the longest product-line display; 'commercial' (10) would fit.
    const summary = '{payerName}: ' + 'x'.repeat(80) + ' {productLine}';
    expect(summary.replace('{payerName}', 'Blue Cross Blue Shield of Massachusetts').replace('{productLine}', 'commercial').length).toBeLessThan(140);
    const dir = broken<CoveragePolicyDoc>(BCBS, (p) => {
      p.rules[0]!.card.summary = summary;
    });
    expectProblem(dir, BCBS, '/rules/0/card/summary', /can reach 1[45]\d characters/);
  });

  test('pa-needed together with not-covered', () => {
    let index = -1;
    const dir = broken<CoveragePolicyDoc>(MEDICA, (p) => {
      index = ruleIndex(p, 'M1');
      p.rules[index]!.determination.paNeeded = 'no-auth';
    });
    expectProblem(dir, MEDICA, `/rules/${index}/determination/paNeeded`, /must be absent when covered is "not-covered"/);
  });

  test('conditional without pa-needed', () => {
    let index = -1;
    const dir = broken<CoveragePolicyDoc>(BCBS, (p) => {
      index = ruleIndex(p, 'B2');
      delete p.rules[index]!.determination.paNeeded;
    });
    expectProblem(dir, BCBS, `/rules/${index}/determination/paNeeded`, /is required when covered is not "not-covered"/);
  });

  test('conditional without info-needed', () => {
    let index = -1;
    const dir = broken<CoveragePolicyDoc>(BCBS, (p) => {
      index = ruleIndex(p, 'B3');
      delete p.rules[index]!.determination.infoNeeded;
    });
    expectProblem(dir, BCBS, `/rules/${index}/determination/infoNeeded`, /is required when something is "conditional"/);
  });

  test('info-needed on a determination with nothing conditional', () => {
    let index = -1;
    const dir = broken<CoveragePolicyDoc>(BCBS, (p) => {
      index = ruleIndex(p, 'B1');
      p.rules[index]!.determination.infoNeeded = ['OTH'];
    });
    expectProblem(dir, BCBS, `/rules/${index}/determination/infoNeeded`, /is only allowed when something is "conditional"/);
  });

  test('an unknown placeholder {foo}', () => {
    let index = -1;
    const dir = broken<CoveragePolicyDoc>(MEDICA, (p) => {
      index = ruleIndex(p, 'M2');
      p.rules[index]!.card.detail += ' See {foo}.';
    });
    expectProblem(dir, MEDICA, `/rules/${index}/card/detail`, /unknown placeholder \{foo\}/);
  });

  test('{policyNumber} in a policy without "number"', () => {
    const dir = broken<CoveragePolicyDoc>(MEDICA, (p) => {
      delete p.number;
    });
    const error = expectProblem(dir, MEDICA, `/rules/2/card/summary`, /uses \{policyNumber\} but the policy has no "number"/);
    expect(error.problems.filter((p) => /policyNumber/.test(p.message)).length).toBeGreaterThanOrEqual(3);
  });

  test('a file that is not JSON', () => {
    const dir = copy();
    writeFileSync(join(dir, 'coverage', 'half-written.json'), '{ "id": "half-written", ');
    expectProblem(dir, 'coverage/half-written.json', '', /not readable JSON/);
  });

  test('a registry file that is not JSON', () => {
    const dir = copy();
    writeFileSync(join(dir, 'payers.json'), 'payers: [bcbsma]');
    expectProblem(dir, 'payers.json', '', /not readable JSON/);
  });

  test('a duplicate policy id', () => {
    const dir = copy();
    cpSync(join(dir, MEDICA), join(dir, 'coverage', 'zz-medica-copy.json'));
    expectProblem(dir, 'coverage/zz-medica-copy.json', '/id', /duplicate policy id "medica-central-mp9672" \(also in coverage\/medica-central-mp9672\.json\)/);
  });

  test('a duplicate rule id', () => {
    const dir = broken<CoveragePolicyDoc>(MEDICA, (p) => {
      p.rules[3]!.id = 'M1';
    });
    expectProblem(dir, MEDICA, '/rules/3/id', /duplicate rule id "M1"/);
  });

  test('two versions taking effect on the same date', () => {
    const dir = broken<CoveragePolicyDoc>(MEDICA, (p) => {
      p.versions[1]!.effective = p.versions[0]!.effective;
    });
    expectProblem(dir, MEDICA, '/versions/1/effective', /two versions take effect on the same date/);
  });

  test('every problem is reported at once, not only the first', () => {
    const dir = copy();
    edit<CoveragePolicyDoc>(dir, MEDICA, (p) => {
      p.payer = 'nobody';
    });
    edit<CoveragePolicyDoc>(dir, BCBS, (p) => {
      p.rules[0]!.card.detail += ' {bar}';
    });
    const files = new Set(loadError(dir).problems.map((p) => p.file));
    expect(files).toEqual(new Set([MEDICA, BCBS]));
  });

  test('no coverage policy at all', () => {
    const dir = copy();
    rmSync(join(dir, 'coverage'), { recursive: true });
    expectProblem(dir, 'coverage/', '', /no coverage policy found/);
  });
});

describe('adding a third payer needs no code change: data only', () => {
  test('a new payer in payers.json and a new coverage/*.json load, and the payer is served', () => {
    const dir = copy();
    edit<PayersDoc>(dir, 'payers.json', (d) => {
      d.payers.push({
        id: 'acme',
        name: 'Acme Health Plan',
        shortName: 'Acme',
        identifiers: [{ system: 'urn:oid:2.16.840.1.113883.6.300', value: '99999' }],
        aliases: ['Acme Health Plan', 'Acme'],
        policyLibrary: { label: 'Acme policies', url: 'https://acme.example.org/policies' },
        planNamePatterns: [],
      });
    });
    const medica = JSON.parse(readFileSync(join(dir, MEDICA), 'utf8')) as CoveragePolicyDoc;
    writeFileSync(join(dir, 'coverage', 'acme-dry-needling.json'), JSON.stringify({ ...medica, id: 'acme-dry-needling', payer: 'acme', number: 'AC-1' }));

    const catalog = loadPolicyCatalog(dir);
    expect(catalog.isServed('acme')).toBe(true);
    expect(catalog.policiesFor('acme').map((p) => p.id)).toEqual(['acme-dry-needling']);
    expect(catalog.isServed('bcbsma')).toBe(true);
    expect(catalog.isServed('medica-central')).toBe(true);
  });

  test('a payer in payers.json without a policy is known but not served', () => {
    const dir = copy();
    edit<PayersDoc>(dir, 'payers.json', (d) => {
      d.payers.push({ ...d.payers[1]!, id: 'acme', name: 'Acme Health Plan', shortName: 'Acme', aliases: ['Acme'] });
    });
    const catalog = loadPolicyCatalog(dir);
    expect(catalog.payers.some((p) => p.id === 'acme')).toBe(true);
    expect(catalog.isServed('acme')).toBe(false);
  });
});

describe('payer registry clashes', () => {
  test('a payer that reuses another payer\'s identifier or name alias stops start-up, naming both', () => {
    const dir = mkdtempSync(join(tmpdir(), 'crd-payer-clash-'));
    try {
      cpSync(join(projectRoot, 'policies'), dir, { recursive: true });
      const payers = JSON.parse(readFileSync(join(dir, 'payers.json'), 'utf8'));
      payers.payers.push({
        ...payers.payers[0],
        id: 'impostor',
        name: 'Impostor Health',
        shortName: 'Impostor',
        aliases: ['Medica Central Health Plan'],
      });
      writeFileSync(join(dir, 'payers.json'), JSON.stringify(payers));
      expect(() => loadPolicyCatalog(dir)).toThrow(/payers\.json at \/payers\/2\/identifiers\/0: identifier 53228 already identifies payer "bcbsma"/);
      expect(() => loadPolicyCatalog(dir)).toThrow(/payers\.json at \/payers\/2\/aliases\/0: name "Medica Central Health Plan" already names payer "medica-central"/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
