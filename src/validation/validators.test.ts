import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { projectRoot } from '../config.js';
import { loadPolicyCatalog, PolicyLoadError } from '../policy/load.js';
import { compiledSchemas, compileSchema, isPrecompiled, precompiledModule, schemaKey, usePrecompiled } from './validators.js';

// Inside the project: the generated code requires ajv's runtime helpers from node_modules.
mkdirSync(join(projectRoot, 'test-artifacts'), { recursive: true });
const dir = mkdtempSync(join(projectRoot, 'test-artifacts', 'validators-'));
afterAll(() => {
  usePrecompiled(null);
  rmSync(dir, { recursive: true, force: true });
});

const SCHEMA = { type: 'object', required: ['id'], properties: { id: { type: 'string', pattern: '^[a-z]+$' } } };
const OPTIONS = { allErrors: true, strict: false };

/** A policy copy whose coverage policy breaks its schema twice. */
function brokenPolicies(): string {
  const policies = join(dir, 'policies');
  cpSync(join(projectRoot, 'policies'), policies, { recursive: true });
  const file = join(policies, 'coverage', 'bcbsma-dry-needling.json');
  const doc = JSON.parse(readFileSync(file, 'utf8'));
  doc.scope = ['sometimes'];
  doc.rules[0].card.indicator = 'urgent';
  writeFileSync(file, JSON.stringify(doc));
  return policies;
}

function problems(policies: string): string[] {
  try {
    loadPolicyCatalog(policies);
  } catch (error) {
    if (error instanceof PolicyLoadError) return error.problems.map((p) => `${p.file} ${p.path} ${p.message}`);
    throw error;
  }
  return [];
}

describe('JSON Schema validators compiled ahead of time', () => {
  test('without precompiled code a schema is compiled on first use, once', () => {
    usePrecompiled(null);
    const validate = compileSchema(SCHEMA, OPTIONS);
    expect(validate({ id: 'abc' })).toBe(true);
    expect(validate({ id: 'ABC' })).toBe(false);
    expect(isPrecompiled(validate)).toBe(false);
    expect(compileSchema(structuredClone(SCHEMA), { ...OPTIONS })).toBe(validate);
    expect(compiledSchemas().map((s) => s.key)).toContain(schemaKey(SCHEMA, OPTIONS));
  });

  test('the build’s module is used for the schemas it holds, and gives the same errors as ajv', () => {
    const other = { ...SCHEMA, title: 'another schema' };
    const file = join(dir, 'precompiled.cjs');
    writeFileSync(file, precompiledModule([{ key: schemaKey(other, OPTIONS), schema: other, options: OPTIONS }]));
    usePrecompiled(file);
    const fromBuild = compileSchema(other, OPTIONS);
    expect(isPrecompiled(fromBuild)).toBe(true);
    expect(fromBuild({ id: 'x' })).toBe(true);
    expect(fromBuild({ id: 7, extra: true })).toBe(false);
    usePrecompiled(null);
    const fresh = compileSchema({ ...other, $comment: 'compiled here' }, OPTIONS);
    fresh({ id: 7, extra: true });
    expect(fromBuild.errors).toEqual(fresh.errors);
  });

  test('policies are checked by precompiled validators exactly as by compiled ones', () => {
    const policies = brokenPolicies();
    usePrecompiled(null);
    const compiled = problems(policies);
    expect(compiled).toEqual(expect.arrayContaining([expect.stringContaining('/scope/0'), expect.stringContaining('/rules/0/card/indicator')]));

    const policySchemas = compiledSchemas().filter((s) => JSON.stringify(s.schema).includes('crd-dry-needling.local/schemas'));
    expect(policySchemas.length).toBeGreaterThanOrEqual(6);
    const file = join(dir, 'policies.cjs');
    writeFileSync(file, precompiledModule(policySchemas));
    usePrecompiled(file);
    expect(problems(policies)).toEqual(compiled);
    expect(compiledSchemas().filter((s) => policySchemas.some((p) => p.key === s.key))).toHaveLength(policySchemas.length);
    expect(policySchemas.every((s) => isPrecompiled(compileSchema(s.schema, s.options)))).toBe(true);
    // A changed schema (here: a new $comment) is not in the module and is compiled instead.
    expect(isPrecompiled(compileSchema({ ...(policySchemas[0]!.schema as object), $comment: 'edited' }, policySchemas[0]!.options))).toBe(false);
  });
});
