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
  const year = Number(m[1]);
  const month = m[2] === undefined ? 1 : Number(m[2]);
  const day = m[3] === undefined ? 1 : Number(m[3]);
  // Checked by arithmetic, not through Date: this runs for every order and Coverage of every call.
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return undefined;
  return `${m[1]}-${m[2] ?? '01'}-${m[3] ?? '01'}`;
}

function daysInMonth(year: number, month: number): number {
  if (month === 2) return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28;
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
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
