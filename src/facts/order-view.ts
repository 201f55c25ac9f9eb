import type { Appointment, CodeableConcept, Coding, Extension, FhirResource } from 'fhir/r4.js';

/** CRD 2.2 billing options: CPT/HCPCS codes for a clinical code, carried on ServiceRequest.code (domain-notes §1.1). */
export const BILLING_OPTIONS_URL = 'http://hl7.org/fhir/us/davinci-crd/StructureDefinition/ext-billing-options';

/** What an order says about the service it asks for: its codings, its billing options and its texts. */
export interface OrderView {
  codings: Coding[];
  billingOptions: Coding[];
  texts: string[];
}

function billingOptions(concept: CodeableConcept | undefined): CodeableConcept[] {
  // Read before the order's types are checked (scope comes first): anything but an array is no extension.
  const extensions: unknown = (concept as (CodeableConcept & { extension?: Extension[] }) | undefined)?.extension;
  return (Array.isArray(extensions) ? (extensions as Extension[]) : [])
    .filter((e) => e?.url === BILLING_OPTIONS_URL && e.valueCodeableConcept)
    .map((e) => e.valueCodeableConcept!);
}

function conceptTexts(concept: CodeableConcept | undefined): string[] {
  if (!concept) return [];
  const texts = [concept.text, ...(Array.isArray(concept.coding) ? concept.coding.map((c) => c?.display) : [])];
  return texts.filter((t): t is string => typeof t === 'string' && t.trim() !== '');
}

function codings(concept: CodeableConcept | undefined): Coding[] {
  return Array.isArray(concept?.coding) ? concept.coding.filter((c) => c && typeof c.code === 'string') : [];
}

/**
 * The order view of a request resource. ServiceRequest (and the other CRD request types with a
 * `code`) read `code`; an Appointment whose ServiceRequest could not be read falls back to its
 * `serviceType` and the displays of its `basedOn` references.
 */
export function orderView(resource: FhirResource): OrderView {
  if (resource.resourceType === 'Appointment') {
    const appointment = resource as Appointment;
    const types = Array.isArray(appointment.serviceType) ? appointment.serviceType : [];
    const basedOn = Array.isArray(appointment.basedOn) ? appointment.basedOn : [];
    return {
      codings: types.flatMap(codings),
      billingOptions: [],
      texts: [
        ...types.flatMap(conceptTexts),
        ...basedOn.map((r) => r?.display).filter((t): t is string => typeof t === 'string' && t.trim() !== ''),
      ],
    };
  }
  const code = (resource as { code?: CodeableConcept }).code;
  const options = billingOptions(code);
  return {
    codings: codings(code),
    billingOptions: options.flatMap(codings),
    texts: [...conceptTexts(code), ...options.flatMap(conceptTexts)],
  };
}

/** A short human name for an order, for cards. */
export function orderLabel(resource: FhirResource): string {
  const view = orderView(resource);
  const text = view.texts[0] ?? view.codings[0]?.code;
  return text ? text.trim() : `${resource.resourceType}/${resource.id ?? '?'}`;
}
