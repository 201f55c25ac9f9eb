import { readFileSync, readdirSync, existsSync } from 'node:fs';
import { join, relative } from 'node:path';
import type { ErrorObject, ValidateFunction } from 'ajv';
import { compileSchema } from '../validation/validators.js';
import { PolicyCatalog } from './catalog.js';
import { checkPolicySemantics, checkRegistrySemantics, type SemanticProblem } from './semantics.js';
import type {
  CareSettingsDoc,
  ClinicalServiceDoc,
  CodeSystemsDoc,
  CoveragePolicyDoc,
  PayersDoc,
  ProductLinesDoc,
} from './types.js';

/** A policy file that cannot be used: names the file and the JSON path (RFC 6901 pointer) of the problem. */
export class PolicyLoadError extends Error {
  constructor(readonly problems: Array<{ file: string; path: string; message: string }>) {
    super(
      'Invalid policy data:\n' +
        problems.map((p) => `  ${p.file} at ${p.path === '' ? '/' : p.path}: ${p.message}`).join('\n'),
    );
    this.name = 'PolicyLoadError';
  }
}

const SCHEMAS = {
  codeSystems: 'code-systems.schema.json',
  payers: 'payers.schema.json',
  service: 'clinical-service.schema.json',
  productLines: 'product-lines.schema.json',
  careSettings: 'care-settings.schema.json',
  policy: 'coverage-policy.schema.json',
} as const;

type SchemaName = keyof typeof SCHEMAS;

function describe(error: ErrorObject): string {
  if (error.keyword === 'additionalProperties') {
    return `unknown property "${String(error.params.additionalProperty)}"`;
  }
  if (error.keyword === 'enum') {
    return `must be one of ${(error.params.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}`;
  }
  return error.message ?? error.keyword;
}

/**
 * Reads and checks policies/: the registries (code-systems.json, payers.json, product-lines.json,
 * care-settings.json), services/*.json and coverage/*.json. Each file is checked against its JSON
 * Schema (policies/schemas/) and then against the rules a schema cannot state (cross references,
 * CRD invariants of each determination, summary length). Any problem stops start-up.
 */
export function loadPolicyCatalog(dir: string): PolicyCatalog {
  const validators = new Map<SchemaName, ValidateFunction>();
  for (const [name, file] of Object.entries(SCHEMAS) as Array<[SchemaName, string]>) {
    const schema = JSON.parse(readFileSync(join(dir, 'schemas', file), 'utf8')) as object;
    validators.set(name, compileSchema(schema, { allErrors: true, strict: true, strictRequired: false }));
  }

  const problems: Array<{ file: string; path: string; message: string }> = [];
  const read = <T>(file: string, schema: SchemaName): T | undefined => {
    const shown = relative(dir, file) || file;
    let data: unknown;
    try {
      data = JSON.parse(readFileSync(file, 'utf8'));
    } catch (error) {
      problems.push({ file: shown, path: '', message: `not readable JSON: ${(error as Error).message}` });
      return undefined;
    }
    const validate = validators.get(schema)!;
    if (!validate(data)) {
      for (const error of validate.errors ?? []) {
        problems.push({ file: shown, path: error.instancePath, message: describe(error) });
      }
      return undefined;
    }
    return data as T;
  };
  const readFolder = <T>(folder: string, schema: SchemaName): Array<{ file: string; doc: T }> => {
    const path = join(dir, folder);
    if (!existsSync(path)) return [];
    return readdirSync(path)
      .filter((f) => f.endsWith('.json'))
      .sort()
      .flatMap((f) => {
        const doc = read<T>(join(path, f), schema);
        return doc === undefined ? [] : [{ file: `${folder}/${f}`, doc }];
      });
  };

  const codeSystems = read<CodeSystemsDoc>(join(dir, 'code-systems.json'), 'codeSystems');
  const payers = read<PayersDoc>(join(dir, 'payers.json'), 'payers');
  const productLines = read<ProductLinesDoc>(join(dir, 'product-lines.json'), 'productLines');
  const careSettings = read<CareSettingsDoc>(join(dir, 'care-settings.json'), 'careSettings');
  const services = readFolder<ClinicalServiceDoc>('services', 'service');
  const policies = readFolder<CoveragePolicyDoc>('coverage', 'policy');

  if (codeSystems && payers && productLines && careSettings) {
    const semantic: SemanticProblem[] = checkRegistrySemantics({ payers, productLines, services });
    const serviceIds = new Set(services.map((s) => s.doc.id));
    for (const { file, doc } of policies) {
      for (const p of checkPolicySemantics(doc, { payers: payers.payers, serviceIds, productLines })) {
        semantic.push({ ...p, file });
      }
    }
    const seen = new Map<string, string>();
    for (const { file, doc } of policies) {
      const other = seen.get(doc.id);
      if (other) semantic.push({ file, path: '/id', message: `duplicate policy id "${doc.id}" (also in ${other})` });
      seen.set(doc.id, file);
    }
    problems.push(...semantic);
  }
  if (policies.length === 0 && problems.length === 0) {
    problems.push({ file: 'coverage/', path: '', message: 'no coverage policy found' });
  }
  if (problems.length > 0) throw new PolicyLoadError(problems);

  return new PolicyCatalog({
    codeSystems: codeSystems!,
    payers: payers!.payers,
    services: services.map((s) => s.doc),
    productLines: productLines!,
    careSettings: careSettings!,
    policies: policies.map((p) => p.doc),
  });
}
