import type { Appointment, FhirResource, ServiceRequest } from 'fhir/r4.js';
import type { ClinicalData } from '../fhir/clinical-data.js';
import { bundleResources, isBundle, keyOf, referenceKey } from '../fhir/references.js';
import { preconditionFailed } from '../http/errors.js';
import type { HookCall } from './request.js';

/** One order the hook asks about, and the resource its coverage information will annotate. */
export interface OrderUnderReview {
  /** The order itself (a ServiceRequest), or the Appointment when its ServiceRequest could not be read. */
  resource: ServiceRequest | Appointment;
  /** "Type/id" of `resource`. */
  reference: string;
  /** The proposed Appointment the order is booked by (appointment-book only). */
  appointment?: Appointment;
  /** "Type/id" of the context resource a card about this order names (the Appointment for appointment-book). */
  contextReference: string;
}

/** DECISIONS §1: orders in scope are ServiceRequests (or Appointments based on one). */
function isServiceRequest(resource: FhirResource): resource is ServiceRequest {
  return resource.resourceType === 'ServiceRequest';
}

function contextResources(value: unknown): FhirResource[] {
  return isBundle(value) ? bundleResources(value) : [];
}

function withKey<T extends ServiceRequest | Appointment>(resource: T, appointment?: Appointment): OrderUnderReview[] {
  const reference = keyOf(resource);
  const contextReference = appointment ? keyOf(appointment) : reference;
  return reference && contextReference ? [{ resource, reference, contextReference, ...(appointment ? { appointment } : {}) }] : [];
}

const asStrings = (value: unknown): string[] =>
  Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : typeof value === 'string' ? [value] : [];

/**
 * The orders each hook evaluates (DECISIONS §7): order-sign every draft order; order-select only the
 * selections; order-dispatch the dispatched orders (sent, else read); appointment-book the
 * ServiceRequests the proposed Appointments are based on (sent, contained, else read), or the
 * Appointment itself when that ServiceRequest cannot be read.
 */
export async function ordersUnderReview(call: HookCall, data: ClinicalData): Promise<OrderUnderReview[]> {
  const context = call.request.context;
  switch (call.service.hook) {
    case 'order-sign':
      return contextResources(context.draftOrders).filter(isServiceRequest).flatMap((r) => withKey(r));
    case 'order-select': {
      // Selections are references ("ServiceRequest/1"); some clients send bare ids.
      const selections = new Set(asStrings(context.selections).map((s) => referenceKey(s) ?? s));
      return contextResources(context.draftOrders)
        .filter(isServiceRequest)
        .filter((r) => selections.has(`ServiceRequest/${r.id}`) || selections.has(r.id ?? ''))
        .flatMap((r) => withKey(r));
    }
    case 'order-dispatch': {
      const references = [...asStrings(context.dispatchedOrders), ...asStrings(context['dispatched-orders']), ...asStrings(context.order)];
      const wanted = [...new Set(references.map(referenceKey).filter((k): k is string => k?.startsWith('ServiceRequest/') ?? false))];
      const found = await Promise.all(wanted.map((ref) => data.resolve<ServiceRequest>(ref, 'ServiceRequest')));
      const orders = found.flatMap((r) => (r ? withKey(r.resource) : []));
      if (wanted.length > 0 && orders.length === 0) {
        throw preconditionFailed(
          data.canQuery
            ? 'The dispatched orders could not be read from the FHIR server.'
            : `The dispatched orders were not sent in the prefetch and cannot be read: ${data.noQueryReason}.`,
        );
      }
      return orders;
    }
    case 'appointment-book': {
      const appointments = contextResources(context.appointments).filter((r): r is Appointment => r.resourceType === 'Appointment');
      const perAppointment = await Promise.all(
        appointments.map(async (appointment) => {
          const based = (Array.isArray(appointment.basedOn) ? appointment.basedOn : []).filter((b) => referenceKey(b?.reference)?.startsWith('ServiceRequest/') || (typeof b?.reference === 'string' && b.reference.startsWith('#')));
          const read = await Promise.all(based.map((b) => data.resolve<ServiceRequest>(b.reference, 'ServiceRequest', appointment)));
          const orders = read.flatMap((r) => (r ? withKey(r.resource, appointment) : []));
          return orders.length > 0 ? orders : withKey(appointment, appointment);
        }),
      );
      return perAppointment.flat();
    }
  }
}
