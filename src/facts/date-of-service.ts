import type { Appointment, FhirResource, Period, Timing } from 'fhir/r4.js';

export type DateOfServiceSource =
  | 'occurrenceDateTime'
  | 'occurrencePeriod.start'
  | 'occurrenceTiming.event'
  | 'Appointment.start'
  | 'authoredOn'
  | 'today';

export interface DateOfService { date: string; source: DateOfServiceSource }

// The whole value must be a FHIR date, or a dateTime (a "T" follows the date): never a prefix of something else.
const DATE = /^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?(?=$|T)/;

/** The calendar date (YYYY-MM-DD) a FHIR date/dateTime names as written; partial dates take their first day. */
export function calendarDate(value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined;
  const m = DATE.exec(value.trim());
  if (!m) return undefined;
  const date = `${m[1]}-${m[2] ?? '01'}-${m[3] ?? '01'}`;
  const parsed = new Date(`${date}T00:00:00Z`);
  return Number.isNaN(parsed.getTime()) || parsed.toISOString().slice(0, 10) !== date ? undefined : date;
}

/**
 * Date of service, DECISIONS §2: occurrenceDateTime, else occurrencePeriod.start, else
 * occurrenceTiming.event[0], else the Appointment's start, else authoredOn, else today.
 */
export function dateOfService(order: FhirResource, appointment: Appointment | undefined, today: string): DateOfService {
  const o = order as {
    occurrenceDateTime?: unknown;
    occurrencePeriod?: Period;
    occurrenceTiming?: Timing;
    authoredOn?: unknown;
    start?: unknown;
  };
  const candidates: Array<[DateOfServiceSource, unknown]> = [
    ['occurrenceDateTime', o.occurrenceDateTime],
    ['occurrencePeriod.start', o.occurrencePeriod?.start],
    ['occurrenceTiming.event', Array.isArray(o.occurrenceTiming?.event) ? o.occurrenceTiming.event[0] : undefined],
    ['Appointment.start', appointment?.start ?? (order.resourceType === 'Appointment' ? o.start : undefined)],
    ['authoredOn', o.authoredOn],
  ];
  for (const [source, value] of candidates) {
    const date = calendarDate(value);
    if (date) return { date, source };
  }
  return { date: today, source: 'today' };
}
