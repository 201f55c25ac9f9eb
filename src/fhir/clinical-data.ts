import type { Coverage, Encounter, FhirResource, Organization, Reference } from 'fhir/r4.js';
import type { ResolvedOrganization } from '../facts/payer.js';
import type { HookRequest } from '../hooks/request.js';
import { preconditionFailed } from '../http/errors.js';
import type { Dispatcher } from 'undici';
import { FhirAccessError, FhirServer, type FhirObserver } from './fhir-server.js';
import { bundleResources, containedIn, isBundle, isOperationOutcome, isResource, referenceKey, ResourceIndex } from './references.js';

/** How this call may reach the EHR's FHIR server (docs/security.md). */
export interface FhirAccess {
  /** Budget for the whole round of queries of one hook call. */
  timeoutMs: number;
  /** Whether the request's `fhirServer` may be called at all: the allowlist, plus the calling issuer's own servers. */
  allows: (baseUrl: string) => boolean;
  /** Bounded outbound HTTP (response-size cap, connect timeout). */
  dispatcher: Dispatcher;
  /** Told the time and outcome of each query (metrics). */
  observe?: FhirObserver;
}

export interface Resolved<T extends FhirResource = FhirResource> { resource: T; source: 'contained' | 'request' | 'fhir-server' }

/**
 * The clinical data of one hook call (the "context" stage): what the client sent (prefetch and
 * context), else what the EHR's FHIR server answers. A prefetch key that is missing or holds an
 * OperationOutcome is queried (CDS Hooks 2.0 §Prefetch); every query shares one deadline.
 * Failures to read an Encounter or an Organization are not errors: the decision goes on without them.
 */
export class ClinicalData {
  readonly index = new ResourceIndex();
  /** Short notes of what could not be read, for the log (no PHI, no tokens). */
  readonly notes: string[] = [];
  /** The EHR's FHIR server, created on first use; its deadline counts from the start of the call. */
  private fhirServer: FhirServer | undefined;
  private readonly deadline: number;
  private readonly reads = new Map<string, Promise<FhirResource | undefined>>();
  private coverages: Promise<Coverage[]> | undefined;

  /** Whether the request's fhirServer may be queried: decided once, on first need, before any outbound request. */
  private allowed: boolean | undefined;

  constructor(
    private readonly request: HookRequest,
    private readonly access: FhirAccess,
  ) {
    for (const value of Object.values(request.prefetch ?? {})) this.index.add(value);
    for (const value of Object.values(request.context)) this.index.add(value);
    this.deadline = Date.now() + access.timeoutMs;
  }

  /**
   * Asked only when something is missing from what the client sent: with full prefetch (the common
   * case) the allowlist, which parses URLs, is never consulted.
   */
  private get serverAllowed(): boolean {
    if (this.allowed === undefined) {
      this.allowed = this.request.fhirServer !== undefined && this.access.allows(this.request.fhirServer);
      if (this.request.fhirServer !== undefined && !this.allowed) this.notes.push('fhirServer is not allowed: no query made');
    }
    return this.allowed;
  }

  get canQuery(): boolean {
    return this.serverAllowed;
  }

  /** Why no query can be made, for a 412's diagnostics. */
  get noQueryReason(): string {
    return this.request.fhirServer === undefined
      ? 'the request gives no fhirServer'
      : 'the request\'s fhirServer is not one this service is allowed to query';
  }

  private get server(): FhirServer | undefined {
    if (!this.fhirServer && this.request.fhirServer && this.serverAllowed) {
      const remaining = Math.max(1, this.deadline - Date.now());
      this.fhirServer = new FhirServer(
        this.request.fhirServer,
        this.request.fhirAuthorization?.access_token,
        AbortSignal.timeout(remaining),
        this.access.dispatcher,
        this.access.observe,
      );
    }
    return this.fhirServer;
  }

  /** A prefetch value the service can use: undefined when the key is missing or holds an OperationOutcome. */
  private prefetched(key: string): { value: unknown } | undefined {
    const prefetch = this.request.prefetch ?? {};
    if (!(key in prefetch)) return undefined;
    const value = prefetch[key];
    if (isOperationOutcome(value)) {
      this.notes.push(`prefetch "${key}" held an OperationOutcome`);
      return undefined;
    }
    return { value };
  }

  /** One read per reference per call, whoever asks; failures are noted and give undefined. */
  private read(key: string): Promise<FhirResource | undefined> {
    let pending = this.reads.get(key);
    if (!pending) {
      const [type, id] = key.split('/') as [string, string];
      pending = this.server
        ? this.server.read(type, id).then(
            (resource) => {
              this.index.add(resource);
              return resource;
            },
            (error: unknown) => {
              this.notes.push(error instanceof FhirAccessError ? error.message : `read ${key} failed`);
              return undefined;
            },
          )
        : Promise.resolve(undefined);
      this.reads.set(key, pending);
    }
    return pending;
  }

  /** A literal reference: contained in `container`, sent by the client, else read from the FHIR server. */
  async resolve<T extends FhirResource>(reference: string | undefined, type: T['resourceType'], container?: FhirResource): Promise<Resolved<T> | undefined> {
    const local = this.resolveLocally(reference, container);
    if (local) return local.resource.resourceType === type ? (local as Resolved<T>) : undefined;
    const key = referenceKey(reference);
    if (!key || !key.startsWith(`${type}/`)) return undefined;
    const resource = await this.read(key);
    return resource?.resourceType === type ? { resource: resource as T, source: 'fhir-server' } : undefined;
  }

  resolveLocally(reference: string | undefined, container?: FhirResource): Resolved | undefined {
    const contained = container ? containedIn(container, reference) : undefined;
    if (contained) return { resource: contained, source: 'contained' };
    const sent = this.index.get(reference);
    return sent ? { resource: sent, source: 'request' } : undefined;
  }

  /**
   * The patient's Coverages (DECISIONS §2): the `coverage` prefetch, else a FHIR search that brings
   * the payer Organizations along (`_include=Coverage:payor`). 412 when neither is possible.
   */
  patientCoverages(): Promise<Coverage[]> {
    this.coverages ??= this.loadCoverages();
    return this.coverages;
  }

  private async loadCoverages(): Promise<Coverage[]> {
    const patientId = this.request.context.patientId;
    const sent = this.prefetched('coverage');
    if (sent) {
      if (sent.value === null) return [];
      if (isBundle(sent.value)) return bundleResources(sent.value).filter((r): r is Coverage => r.resourceType === 'Coverage');
      if (isResource(sent.value) && sent.value.resourceType === 'Coverage') return [sent.value as Coverage];
      this.notes.push('prefetch "coverage" was neither a Bundle nor a Coverage');
    }
    // No outbound request at all unless allowed: the token must not go to a server this deployment has not approved.
    if (!this.server) {
      throw preconditionFailed(`The patient's Coverage is needed: it was not prefetched ("coverage") and ${this.noQueryReason}.`);
    }
    try {
      const bundle = await this.server.search('Coverage', { patient: patientId, status: 'active', _include: 'Coverage:payor' });
      this.index.add(bundle);
      return bundleResources(bundle).filter((r): r is Coverage => r.resourceType === 'Coverage');
    } catch (error) {
      const why = error instanceof FhirAccessError ? error.message : 'the query failed';
      throw preconditionFailed(`The patient's Coverage is needed: it was not prefetched and the FHIR server query failed (${why}).`);
    }
  }

  /** An Encounter (DECISIONS §3 signal 3): the `encounter` prefetch when it is that one, else a read. */
  async encounter(reference: string | undefined, container?: FhirResource): Promise<Encounter | undefined> {
    const key = referenceKey(reference);
    if (!key?.startsWith('Encounter/')) return undefined;
    const sent = this.prefetched('encounter');
    if (sent && isResource(sent.value) && sent.value.resourceType === 'Encounter' && `Encounter/${sent.value.id}` === key) {
      return sent.value as Encounter;
    }
    return (await this.resolve<Encounter>(reference, 'Encounter', container))?.resource;
  }

  /** The payer Organization of a payor reference: contained, sent by the client, else read. */
  async organization(ref: Reference, coverage: Coverage): Promise<ResolvedOrganization | undefined> {
    const resolved = await this.resolve<Organization>(ref.reference, 'Organization', coverage);
    return resolved ? { resource: resolved.resource, source: resolved.source, reference: ref.reference! } : undefined;
  }
}
