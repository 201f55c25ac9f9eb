import type { Bundle, Coverage, Encounter, FhirResource, Organization, Patient, Resource } from 'fhir/r4.js';
import { careSetting, type CareSettingFact } from '../facts/care-setting.js';
import type { PolicyCatalog } from '../policy/catalog.js';
import type { CdsHooksRequestJson } from './scenarios.js';

/** What a person picking a scenario needs to know about it: who, which coverage, which order, where. */
export interface ScenarioPicture {
  patient: { reference: string; name: string; birthDate?: string };
  /** The patient's Coverages as the request's prefetch holds them (none when not prefetched). */
  coverages: Array<{ reference: string; payer: string; plan?: string; status?: string; period?: string }>;
  orders: Array<{ reference: string; text: string; codes: string[]; date?: string; careSetting?: string }>;
}

type Loose = Record<string, unknown>;

function bundleResources(value: unknown, mode?: 'match' | 'include'): FhirResource[] {
  const bundle = value as Bundle | undefined;
  if (bundle?.resourceType !== 'Bundle' || !Array.isArray(bundle.entry)) return [];
  return bundle.entry.filter((e) => !mode || (e.search?.mode ?? 'match') === mode).flatMap((e) => (e.resource ? [e.resource as FhirResource] : []));
}

function personName(patient: Patient | undefined): string {
  const name = patient?.name?.find((n) => n.use === 'official') ?? patient?.name?.[0];
  if (!name) return 'unnamed patient';
  return name.text ?? [...(name.given ?? []), name.family].filter((p) => !!p).join(' ');
}

function payerName(coverage: Coverage, included: Resource[]): string {
  const payor = coverage.payor?.[0];
  const id = payor?.reference?.replace(/^#/, '').replace(/^Organization\//, '');
  const organization = [...included, ...(coverage.contained ?? [])].find(
    (r): r is Organization => r.resourceType === 'Organization' && r.id === id,
  );
  return organization?.name ?? payor?.display ?? payor?.identifier?.value ?? 'unknown payer';
}

function planName(coverage: Coverage): string | undefined {
  const plan = coverage.class?.find((c) => c.type?.coding?.some((k) => k.code === 'plan'));
  return plan?.name ?? coverage.type?.text ?? coverage.type?.coding?.[0]?.display;
}

function settingWords(fact: CareSettingFact): string {
  switch (fact.source) {
    case 'order.category':
      return `${fact.setting} (order category ${fact.code ?? ''})`;
    case 'order.locationCode':
      return `${fact.setting} (place of service ${fact.code ?? ''})`;
    case 'encounter.class':
      return `${fact.setting} (${fact.encounter ?? 'Encounter'} class ${fact.code ?? ''})`;
    case 'none':
      return 'unknown (nothing on the order or its Encounter says)';
  }
}

/** The scenario in plain fields, read from its request the way the service reads it. */
export function describeRequest(request: CdsHooksRequestJson, catalog: PolicyCatalog): ScenarioPicture {
  const prefetch = (request.prefetch ?? {}) as Loose;
  const context = request.context;
  const patient = prefetch.patient as Patient | undefined;
  const included = bundleResources(prefetch.coverage, 'include');
  const coverages = bundleResources(prefetch.coverage, 'match')
    .filter((r): r is Coverage => r.resourceType === 'Coverage')
    .map((c) => {
      const plan = planName(c);
      const period = c.period ? `${c.period.start ?? '…'} to ${c.period.end ?? '…'}` : undefined;
      return {
        reference: `Coverage/${c.id ?? ''}`,
        payer: payerName(c, included),
        ...(plan ? { plan } : {}),
        ...(c.status ? { status: c.status } : {}),
        ...(period ? { period } : {}),
      };
    });
  const encounter = prefetch.encounter as Encounter | undefined;
  const orderResources = [
    ...Object.values(context).flatMap((v) => bundleResources(v)),
    ...Object.entries(prefetch).filter(([key]) => key !== 'coverage').flatMap(([, v]) => bundleResources(v)),
  ];
  const orders = orderResources.map((resource) => {
    const r = resource as unknown as Loose & { code?: { text?: string; coding?: Array<{ code?: string; display?: string }> } };
    const appointmentText = resource.resourceType === 'Appointment' ? (r.description as string | undefined) : undefined;
    const date = (r.occurrenceDateTime ?? (r.occurrencePeriod as { start?: string } | undefined)?.start ?? r.start) as string | undefined;
    const ownEncounter = (r.encounter as { reference?: string } | undefined)?.reference;
    const orderEncounter = encounter && (!ownEncounter || ownEncounter === `Encounter/${encounter.id ?? ''}`) ? encounter : undefined;
    return {
      reference: `${resource.resourceType}/${resource.id ?? ''}`,
      text: r.code?.text ?? r.code?.coding?.[0]?.display ?? appointmentText ?? resource.resourceType,
      codes: (r.code?.coding ?? []).flatMap((c) => (c.code ? [c.code] : [])),
      ...(date ? { date } : {}),
      ...(resource.resourceType === 'ServiceRequest'
        ? { careSetting: settingWords(careSetting(resource, orderEncounter, catalog.careSettings, catalog.codeSystems)) }
        : {}),
    };
  });
  return {
    patient: {
      reference: `Patient/${String(context.patientId)}`,
      name: personName(patient),
      ...(patient?.birthDate ? { birthDate: patient.birthDate } : {}),
    },
    coverages,
    orders,
  };
}
