/**
 * FHIR R4 test fixtures: every JSON file under `fhir-resources/`, one resource per file,
 * named `<ResourceType>-<id>.json`. Read once, then cached for the whole test file.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Bundle, BundleEntry, FhirResource, Resource } from 'fhir/r4.js';

/** Absolute path of the project root (this file lives in `<root>/test/support/`). */
export const projectRoot: string = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Where the fixtures live. */
export const fixturesDir: string = join(projectRoot, 'fhir-resources');

/** The FHIR base the fixtures pretend to come from (used for `Bundle.entry.fullUrl`). */
export const EXAMPLE_FHIR_BASE = 'http://ehr.example.org/fhir';

let cache: Map<string, Resource> | undefined;

/**
 * All fixtures keyed `"Type/id"`. The resources are deep-frozen because they are shared by every
 * caller: use {@link fixture} for a copy you may change. The Map itself is a fresh copy per call.
 */
export function loadFixtures(): Map<string, Resource> {
  return new Map(cachedFixtures());
}

/** A deep clone of the fixture `ref` (`"Type/id"`); throws when there is no such fixture. */
export function fixture<T extends Resource>(ref: string): T {
  const found = cachedFixtures().get(ref);
  if (found === undefined) {
    throw new Error(`No fixture ${ref} under ${relative(projectRoot, fixturesDir)}/ (refs look like "Coverage/cov-bcbsma-ppo")`);
  }
  return structuredClone(found) as T;
}

/**
 * A FHIR searchset Bundle: `resources` as `search.mode: match` (counted in `total`), then
 * `included` as `search.mode: include`. Entries are copies; `fullUrl` is `<baseUrl>/<Type>/<id>`.
 */
export function searchset(resources: Resource[], included: Resource[] = [], baseUrl: string = EXAMPLE_FHIR_BASE): Bundle {
  const entry: BundleEntry[] = [
    ...resources.map((r) => searchEntry(r, 'match', baseUrl)),
    ...included.map((r) => searchEntry(r, 'include', baseUrl)),
  ];
  const bundle: Bundle = { resourceType: 'Bundle', type: 'searchset', total: resources.length };
  // FHIR JSON forbids empty arrays, so an empty result has no `entry` at all.
  if (entry.length > 0) bundle.entry = entry;
  return bundle;
}

function searchEntry(resource: Resource, mode: 'match' | 'include', baseUrl: string): BundleEntry {
  return {
    fullUrl: `${baseUrl}/${resource.resourceType}/${resource.id ?? ''}`,
    // `Resource` is the base type; a Bundle entry is typed as the union of concrete resources.
    resource: structuredClone(resource) as FhirResource,
    search: { mode },
  };
}

function cachedFixtures(): Map<string, Resource> {
  cache ??= readFixtures(fixturesDir);
  return cache;
}

function readFixtures(root: string): Map<string, Resource> {
  const byRef = new Map<string, Resource>();
  for (const file of jsonFilesUnder(root)) {
    const where = relative(projectRoot, file);
    const parsed: unknown = JSON.parse(readFileSync(file, 'utf8'));
    if (!isResource(parsed)) throw new Error(`${where}: not a FHIR resource with resourceType and id`);
    const expectedName = `${parsed.resourceType}-${parsed.id}.json`;
    if (basename(file) !== expectedName) throw new Error(`${where}: should be named ${expectedName}`);
    const ref = `${parsed.resourceType}/${parsed.id}`;
    if (byRef.has(ref)) throw new Error(`${where}: duplicate fixture ${ref}`);
    byRef.set(ref, deepFreeze(parsed));
  }
  return byRef;
}

function jsonFilesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .sort((a, b) => a.name.localeCompare(b.name))
    .flatMap((d) => {
      const full = join(dir, d.name);
      if (d.isDirectory()) return jsonFilesUnder(full);
      return d.isFile() && d.name.endsWith('.json') ? [full] : [];
    });
}

function isResource(value: unknown): value is Resource & { id: string } {
  if (typeof value !== 'object' || value === null) return false;
  const { resourceType, id } = value as { resourceType?: unknown; id?: unknown };
  return typeof resourceType === 'string' && typeof id === 'string';
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}
