import type { Coverage } from 'fhir/r4.js';
import { calendarDate } from './date-of-service.js';

/**
 * DECISIONS §2: a Coverage counts as active when `status = active` and its `period` (if any)
 * contains the date of service.
 */
export function isActiveOn(coverage: Coverage, date: string): boolean {
  if (coverage.status !== 'active') return false;
  const start = calendarDate(coverage.period?.start);
  const end = calendarDate(coverage.period?.end);
  return (start === undefined || start <= date) && (end === undefined || date <= end);
}

/** Coverages that were recorded in error say nothing about the patient. */
export function isUsable(coverage: Coverage): boolean {
  return coverage.status !== 'entered-in-error';
}
