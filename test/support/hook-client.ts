/**
 * Calls the service through HTTP exactly as an EHR does, and runs the independent conformance
 * check (test/support/conformance.ts) over every 200 answer; every other answer must be a 4xx
 * with an OperationOutcome. Every test that calls a hook goes through here.
 */
import type { Bundle, Coverage, Extension, FhirResource, Resource } from 'fhir/r4.js';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import request from 'supertest';
import { ClientAuthenticator } from '../../src/auth/client-authenticator.js';
import type { TrustedIssuer } from '../../src/auth/trusted-issuers.js';
import { FhirServerAllowlist } from '../../src/fhir/allowlist.js';
import { boundedDispatcher } from '../../src/fhir/capped-fetch.js';
import { createApp, type ServiceApp } from '../../src/http/app.js';
import { loadPolicyCatalog } from '../../src/policy/load.js';
import type { PolicyCatalog } from '../../src/policy/catalog.js';
import { clientJwt, PUBLIC_BASE, testIssuers } from './clients.js';
import { expectConformant } from './conformance.js';
import { allowedTestServers } from './fhir-server.js';
import { fixture, projectRoot, searchset } from './fixtures.js';
import type { SqlRecordStore } from '../../src/records/sql-store.js';
import { ServiceMetrics } from '../../src/http/metrics.js';
import { registerRequestSecrets, scannedLogger } from './log-scan.js';
import { memoryStore } from './stores.js';

export const SERVICE_IDS = {
  'order-sign': 'crd-order-sign',
  'order-select': 'crd-order-select',
  'order-dispatch': 'crd-order-dispatch',
  'appointment-book': 'crd-appointment-book',
} as const;

let catalog: PolicyCatalog | undefined;
export function shippedCatalog(): PolicyCatalog {
  catalog ??= loadPolicyCatalog(join(projectRoot, 'policies'));
  return catalog;
}

export interface TestApp {
  app: ServiceApp;
  /** Everything the app logged (each line also went through the log scan). */
  logs: Array<Record<string, unknown>>;
  /** Its records database. */
  records: SqlRecordStore;
  metrics: ServiceMetrics;
}

/**
 * The real allowlist class over the loopback servers this test file started as allowed, plus any
 * fixed prefixes a test names: the service may call those and nothing else.
 */
class TestServersAllowlist extends FhirServerAllowlist {
  constructor(private readonly fixed: string[]) {
    super(fixed);
  }
  override allows(baseUrl: string, more?: FhirServerAllowlist): boolean {
    return new FhirServerAllowlist([...this.fixed, ...allowedTestServers]).allows(baseUrl, more);
  }
}

export interface TestAppOptions {
  fhirTimeoutMs?: number;
  /** `required` by default, with the test EHR issuer trusted; `off` only where a test says why. */
  auth?: 'required' | 'off';
  issuers?: TrustedIssuer[];
  fhirAllowlist?: string[];
  bodyLimit?: string;
  /** Cap on a FHIR server's answer (default 5 MB, as the service's). */
  maxResponseBytes?: number;
  /** The records database; a private in-memory SQLite one by default. */
  records?: SqlRecordStore;
  metricsToken?: string;
  auditFullResources?: boolean;
}

/** Apps whose calls postHook signs (with the test EHR key, `aud` = PUBLIC_BASE + path). */
const signed = new WeakSet<ServiceApp>();

export function testApp(options: TestAppOptions = {}): TestApp {
  const logs: Array<Record<string, unknown>> = [];
  const records = options.records ?? memoryStore();
  const metrics = new ServiceMetrics();
  const auth = options.auth ?? 'required';
  const app = createApp({
    catalog: shippedCatalog(),
    fhirTimeoutMs: options.fhirTimeoutMs ?? 1500,
    bodyLimit: options.bodyLimit ?? '1mb',
    logger: scannedLogger(logs),
    records,
    metrics,
    ...(options.metricsToken ? { metricsToken: options.metricsToken } : {}),
    ...(options.auditFullResources ? { auditFullResources: true } : {}),
    fhirAllowlist: new TestServersAllowlist(options.fhirAllowlist ?? []),
    ...(options.maxResponseBytes ? { outbound: boundedDispatcher({ maxResponseBytes: options.maxResponseBytes, connectTimeoutMs: 1000 }) } : {}),
    ...(auth === 'required'
      ? { auth: { authenticator: new ClientAuthenticator(options.issuers ?? testIssuers(), { replayCache: records }), publicBaseUrl: PUBLIC_BASE } }
      : {}),
  });
  if (auth === 'required') signed.add(app);
  return { app, logs, records, metrics };
}

/** The Authorization header a real EHR would send for `path` on `app` (none when authentication is off). */
export async function authHeader(app: ServiceApp, path: string): Promise<Record<string, string>> {
  return signed.has(app) ? { Authorization: `Bearer ${await clientJwt(path)}` } : {};
}

export interface HookAnswer {
  status: number;
  body: any;
}

/** POSTs a hook request (an object, or raw text sent as is) and checks the answer's conformance. */
export async function postHook(app: ServiceApp, serviceId: string, body: unknown, raw = false): Promise<HookAnswer> {
  registerRequestSecrets(raw ? safeParse(body as string) : body);
  const path = `/cds-services/${serviceId}`;
  const call = request(app).post(path).set('Content-Type', 'application/json').set(await authHeader(app, path));
  const res = raw ? await call.send(body as string) : await call.send(body as object);
  if (res.status === 200) {
    const hook = (body as { hook?: string }).hook ?? serviceId.replace(/^crd-/, '');
    expectConformant(res.body, { hook, request: body as Record<string, unknown> });
  } else {
    if (res.status < 400 || res.status >= 500) throw new Error(`Expected 200 or a 4xx, got ${res.status}: ${res.text}`);
    if (res.body?.resourceType !== 'OperationOutcome' || !Array.isArray(res.body.issue) || res.body.issue.length === 0) {
      throw new Error(`A ${res.status} must carry an OperationOutcome, got: ${res.text}`);
    }
  }
  return { status: res.status, body: res.body };
}

function safeParse(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** A request body from cds-hooks/ (a fresh copy). */
export function example(file: string): any {
  return JSON.parse(readFileSync(join(projectRoot, 'cds-hooks', file), 'utf8'));
}

/** A request captured from the public CDS Hooks Sandbox (../shared/reference). */
export function sandboxCapture(name: 'servicerequest' | 'medicationrequest'): any {
  const path = join(projectRoot, '..', 'shared', 'reference', `sandbox-captured-order-sign-${name}.json`);
  return JSON.parse(readFileSync(path, 'utf8'));
}

export interface OrderSignOptions {
  patient: string;
  orders: Array<string | FhirResource>;
  /** Coverage fixture refs for the `coverage` prefetch; `undefined` leaves the key out (not prefetched). */
  coverages?: string[];
  /** Organizations to include beside the Coverages; by default the payors the Coverages reference. */
  encounter?: string;
  /** Whether to prefetch the encounter (default true when `encounter` is given). */
  prefetchEncounter?: boolean;
  fhirServer?: string;
  accessToken?: string;
  extension?: Record<string, unknown>;
  hook?: 'order-sign' | 'order-select';
  selections?: string[];
}

function payorOrganizations(coverages: Coverage[]): Resource[] {
  const refs = new Set(
    coverages.flatMap((c) => (c.payor ?? []).map((p) => p.reference).filter((r): r is string => !!r && r.startsWith('Organization/'))),
  );
  return [...refs].map((r) => fixture(r));
}

/** Builds an order-sign (or order-select) request from fixtures, shaped like a real EHR's. */
export function orderSignRequest(o: OrderSignOptions): any {
  const patientId = o.patient.replace(/^Patient\//, '');
  const orders = o.orders.map((ref) => {
    const order = typeof ref === 'string' ? fixture<FhirResource>(ref) : structuredClone(ref);
    (order as { subject?: unknown }).subject = { reference: `Patient/${patientId}` };
    return order;
  });
  const draftOrders: Bundle = { resourceType: 'Bundle', type: 'collection', entry: orders.map((resource) => ({ resource })) };
  const prefetch: Record<string, unknown> = { patient: fixture(`Patient/${patientId}`) };
  if (o.coverages) {
    const coverages = o.coverages.map((c) => fixture<Coverage>(c));
    prefetch.coverage = searchset(coverages, payorOrganizations(coverages));
  }
  const encounterId = o.encounter?.replace(/^Encounter\//, '');
  if (encounterId && (o.prefetchEncounter ?? true)) prefetch.encounter = fixture(`Encounter/${encounterId}`);
  const hook = o.hook ?? 'order-sign';
  return {
    hook,
    hookInstance: randomUUID(),
    ...(o.fhirServer ? { fhirServer: o.fhirServer } : {}),
    ...(o.fhirServer && o.accessToken
      ? { fhirAuthorization: { access_token: o.accessToken, token_type: 'Bearer', expires_in: 300, scope: 'user/*.read', subject: 'crd-dry-needling' } }
      : {}),
    context: {
      userId: 'Practitioner/pr-okafor',
      patientId,
      ...(encounterId ? { encounterId } : {}),
      ...(hook === 'order-select' ? { selections: o.selections ?? orders.map((r) => `${r.resourceType}/${r.id}`) } : {}),
      draftOrders,
    },
    prefetch,
    ...(o.extension ? { extension: o.extension } : {}),
  };
}

const CI_URL = 'http://hl7.org/fhir/us/davinci-crd/StructureDefinition/ext-coverage-information';

export interface CoverageInfoSummary {
  order: string;
  coverage: string | undefined;
  covered: string | undefined;
  paNeeded: string | undefined;
  infoNeeded: string[];
  billingCode: string | undefined;
  reasonText: string | undefined;
  reasonCodes: string[];
  assertionId: string | undefined;
  details: Extension[];
}

/** The coverage-information repetitions of an answer's systemActions, in plain fields. */
export function coverageInfo(body: any): CoverageInfoSummary[] {
  return (body.systemActions ?? []).flatMap((action: any) =>
    (action.resource.extension ?? [])
      .filter((e: Extension) => e.url === CI_URL)
      .map((e: Extension) => {
        const parts = e.extension ?? [];
        const one = (url: string) => parts.find((p) => p.url === url);
        return {
          order: `${action.resource.resourceType}/${action.resource.id}`,
          coverage: one('coverage')?.valueReference?.reference,
          covered: one('covered')?.valueCode,
          paNeeded: one('pa-needed')?.valueCode,
          infoNeeded: parts.filter((p) => p.url === 'info-needed').map((p) => p.valueCode!),
          billingCode: one('billingCode')?.valueCoding?.code,
          reasonText: one('reason')?.valueCodeableConcept?.text,
          reasonCodes: (one('reason')?.valueCodeableConcept?.coding ?? []).map((c) => c.code!),
          assertionId: one('coverage-assertion-id')?.valueString,
          details: parts.filter((p) => p.url === 'detail'),
        };
      }),
  );
}

/** Summary, detail and link texts of every card, for "the card must tell the clinician" checks. */
export function cardText(card: any): string {
  return [card.summary, card.detail, ...(card.links ?? []).map((l: any) => `${l.label} ${l.url}`)].join('\n');
}
