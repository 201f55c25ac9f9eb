import { collectDefaultMetrics, Counter, Histogram, Registry } from 'prom-client';
import type { FhirObserver } from '../fhir/fhir-server.js';

/** Latency buckets (seconds) around CRD's 5-second answer target. */
const BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10];

/**
 * The service's Prometheus metrics (prom-client), one registry per app so several apps in one
 * process (the tests) do not share counters. Labels are ids and codes from the policies and the
 * code, never PHI, and never free text a caller sent.
 */
export class ServiceMetrics {
  readonly registry = new Registry();

  readonly hookDuration = new Histogram({
    name: 'crd_hook_duration_seconds',
    help: 'Time to answer a CDS Hooks call, by hook and HTTP status.',
    labelNames: ['hook', 'status'] as const,
    buckets: BUCKETS,
    registers: [this.registry],
  });

  readonly determinations = new Counter({
    name: 'crd_determinations_total',
    help: 'Coverage determinations returned, by payer, policy, decision-table row (rule) and covered value.',
    labelNames: ['payer', 'policy', 'rule', 'covered'] as const,
    registers: [this.registry],
  });

  readonly fhirDuration = new Histogram({
    name: 'crd_fhir_query_duration_seconds',
    help: "Time of each query to an EHR's FHIR server, by operation, resource type and outcome.",
    labelNames: ['operation', 'resource_type', 'outcome'] as const,
    buckets: BUCKETS,
    registers: [this.registry],
  });

  readonly fhirErrors = new Counter({
    name: 'crd_fhir_query_errors_total',
    help: "Failed queries to an EHR's FHIR server, by operation, resource type and kind of failure.",
    labelNames: ['operation', 'resource_type', 'failure'] as const,
    registers: [this.registry],
  });

  readonly authFailures = new Counter({
    name: 'crd_auth_failures_total',
    help: 'Refused client JWTs, by reason.',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });

  readonly feedback = new Counter({
    name: 'crd_feedback_total',
    help: 'CDS Hooks feedback entries stored, by service and outcome.',
    labelNames: ['service', 'outcome'] as const,
    registers: [this.registry],
  });

  readonly recordFailures = new Counter({
    name: 'crd_record_store_failures_total',
    help: 'Writes to the records database that failed (each answered 503 or, for an audit-only write, logged).',
    labelNames: ['operation'] as const,
    registers: [this.registry],
  });

  /** `processMetrics`: Node's default process metrics (CPU, memory, event loop, GC) too. */
  constructor(options: { processMetrics?: boolean } = {}) {
    if (options.processMetrics) collectDefaultMetrics({ register: this.registry, prefix: 'crd_' });
  }

  /** Feeds the FHIR query metrics (src/fhir/fhir-server.ts). */
  readonly fhirObserver: FhirObserver = ({ operation, resourceType, seconds, failure }) => {
    const type = KNOWN_TYPES.has(resourceType) ? resourceType : 'other';
    this.fhirDuration.observe({ operation, resource_type: type, outcome: failure ? 'error' : 'ok' }, seconds);
    if (failure) this.fhirErrors.inc({ operation, resource_type: type, failure });
  };

  authFailed(reason: string): void {
    this.authFailures.inc({ reason: reasonLabel(reason) });
  }
}

const KNOWN_TYPES = new Set(['Coverage', 'Organization', 'Encounter', 'ServiceRequest', 'Appointment', 'Patient']);

/** Auth failure reasons without the parts a caller chose (an `alg` value, a claim's complaint), so labels stay few. */
export function reasonLabel(reason: string): string {
  return reason.replace(/^alg .* not accepted$/s, 'alg not accepted').replace(/^claim (\w{1,20}) failed:.*$/s, 'claim $1 failed').slice(0, 60);
}
