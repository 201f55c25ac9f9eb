import type { Bundle, FhirResource, OperationOutcome } from 'fhir/r4.js';

/** FHIR R4 `id`: what a reference to the resource may carry. */
const FHIR_ID = /^[A-Za-z0-9\-.]{1,64}$/;

/** "Type/id" of a resource, or undefined when it has no valid FHIR id (nothing could reference it). */
export function keyOf(resource: FhirResource): string | undefined {
  return typeof resource.id === 'string' && FHIR_ID.test(resource.id) ? `${resource.resourceType}/${resource.id}` : undefined;
}

const RELATIVE = /(?:^|\/)([A-Z][A-Za-z]+)\/([A-Za-z0-9\-.]{1,64})(?:\/_history\/[^/]+)?$/;

/** "Type/id" of a literal reference: relative, absolute URL or versioned; undefined for anything else. */
export function referenceKey(reference: string | undefined): string | undefined {
  if (typeof reference !== 'string') return undefined;
  const m = RELATIVE.exec(reference.trim());
  return m ? `${m[1]}/${m[2]}` : undefined;
}

export function isResource(value: unknown): value is FhirResource {
  return typeof value === 'object' && value !== null && typeof (value as { resourceType?: unknown }).resourceType === 'string';
}

export function isOperationOutcome(value: unknown): value is OperationOutcome {
  return isResource(value) && value.resourceType === 'OperationOutcome';
}

export function isBundle(value: unknown): value is Bundle {
  return isResource(value) && value.resourceType === 'Bundle';
}

/** The resources in a Bundle's entries, skipping entries without a resource or with a malformed one. */
export function bundleResources(bundle: Bundle): FhirResource[] {
  return (Array.isArray(bundle.entry) ? bundle.entry : [])
    .map((e) => (e && typeof e === 'object' ? e.resource : undefined))
    .filter(isResource);
}

/** A contained resource named by a local reference ("#id"). */
export function containedIn(container: FhirResource, reference: string | undefined): FhirResource | undefined {
  if (typeof reference !== 'string' || !reference.startsWith('#')) return undefined;
  const contained = (container as { contained?: unknown }).contained;
  return Array.isArray(contained) ? contained.filter(isResource).find((r) => `#${r.id}` === reference) : undefined;
}

/**
 * Every resource the client sent (prefetch values, resources and Bundles inside them, context
 * Bundles), by "Type/id". Irrelevant or malformed resources are simply indexed, never validated.
 */
export class ResourceIndex {
  private readonly byKey = new Map<string, FhirResource>();

  add(value: unknown): void {
    if (!isResource(value)) return;
    if (isBundle(value)) {
      for (const resource of bundleResources(value)) this.add(resource);
      return;
    }
    const key = keyOf(value);
    if (key && !this.byKey.has(key)) this.byKey.set(key, value);
  }

  get(reference: string | undefined): FhirResource | undefined {
    const key = referenceKey(reference);
    return key ? this.byKey.get(key) : undefined;
  }
}
