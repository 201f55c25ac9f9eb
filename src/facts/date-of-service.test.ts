import type { Appointment, ServiceRequest } from 'fhir/r4.js';
import { fixture } from '../../test/support/fixtures.js';
import { calendarDate, dateOfService } from './date-of-service.js';

const TODAY = '2026-11-23';

function order(parts: Partial<ServiceRequest> = {}): ServiceRequest {
  return { resourceType: 'ServiceRequest', id: 'sr', status: 'draft', intent: 'order', subject: { reference: 'Patient/p' }, ...parts };
}
const appointment = (start: string): Appointment => ({ resourceType: 'Appointment', id: 'appt', status: 'proposed', participant: [], start });

const ALL: Partial<ServiceRequest> = {
  occurrenceDateTime: '2026-12-01',
  occurrencePeriod: { start: '2026-12-02' },
  occurrenceTiming: { event: ['2026-12-03', '2026-12-10'] },
  authoredOn: '2026-11-20',
};

describe('date of service: the sources in DECISIONS §2 order', () => {
  test('occurrenceDateTime first', () => {
    expect(dateOfService(order(ALL), appointment('2026-12-04T10:00:00Z'), TODAY)).toEqual({ date: '2026-12-01', source: 'occurrenceDateTime' });
  });

  test('else occurrencePeriod.start', () => {
    const { occurrenceDateTime: _, ...rest } = ALL;
    expect(dateOfService(order(rest), appointment('2026-12-04'), TODAY)).toEqual({ date: '2026-12-02', source: 'occurrencePeriod.start' });
  });

  test('else occurrenceTiming.event[0]', () => {
    expect(dateOfService(order({ occurrenceTiming: ALL.occurrenceTiming, authoredOn: '2026-11-20' }), appointment('2026-12-04'), TODAY)).toEqual({
      date: '2026-12-03',
      source: 'occurrenceTiming.event',
    });
  });

  test("else the Appointment's start", () => {
    expect(dateOfService(order({ authoredOn: '2026-11-20' }), appointment('2026-12-04T14:00:00-05:00'), TODAY)).toEqual({
      date: '2026-12-04',
      source: 'Appointment.start',
    });
  });

  test('an Appointment evaluated on its own gives its own start', () => {
    expect(dateOfService(fixture<Appointment>('Appointment/appt-dn-unreadable'), undefined, TODAY)).toEqual({
      date: '2026-12-02',
      source: 'Appointment.start',
    });
  });

  test('else authoredOn', () => {
    expect(dateOfService(order({ authoredOn: '2026-11-20T16:45:00-05:00' }), undefined, TODAY)).toEqual({ date: '2026-11-20', source: 'authoredOn' });
  });

  test('else today', () => {
    expect(dateOfService(order(), undefined, TODAY)).toEqual({ date: TODAY, source: 'today' });
  });

  test('an occurrencePeriod without start is passed over', () => {
    expect(dateOfService(order({ occurrencePeriod: { end: '2026-12-09' }, authoredOn: '2026-11-20' }), undefined, TODAY).source).toBe('authoredOn');
  });

  test('an empty occurrenceTiming is passed over', () => {
    expect(dateOfService(order({ occurrenceTiming: {}, authoredOn: '2026-11-20' }), undefined, TODAY).source).toBe('authoredOn');
  });

  test.each([
    ['sr-dn-20560', '2026-12-01', 'occurrenceDateTime'],
    ['sr-dn-20561-period', '2026-12-03', 'occurrencePeriod.start'],
    ['sr-dn-2016-text', '2016-05-01', 'occurrenceDateTime'],
    ['sr-dn-2024-medica-v1', '2024-06-01', 'occurrenceDateTime'],
  ])('fixture %s → %s from %s', (id, date, source) => {
    expect(dateOfService(fixture<ServiceRequest>(`ServiceRequest/${id}`), undefined, TODAY)).toEqual({ date, source });
  });
});

describe('partial dates, offsets and invalid dates', () => {
  test.each([
    ['2026-12', '2026-12-01'],
    ['2026', '2026-01-01'],
    ['2026-12-01', '2026-12-01'],
  ])('the partial date %j is read as %j (its first day)', (value, date) => {
    expect(dateOfService(order({ occurrenceDateTime: value }), undefined, TODAY)).toEqual({ date, source: 'occurrenceDateTime' });
  });

  test.each([
    ['2026-12-01T23:30:00-05:00', '2026-12-01'],
    ['2026-12-01T00:30:00+09:00', '2026-12-01'],
    ['2026-12-31T22:00:00-10:00', '2026-12-31'],
    ['2026-12-01T12:00:00Z', '2026-12-01'],
  ])('a dateTime with offset %j keeps the calendar date written, %j', (value, date) => {
    expect(dateOfService(order({ occurrenceDateTime: value }), undefined, TODAY).date).toBe(date);
  });

  test.each(['2026-02-30', '2026-13-01', '2026-00-10', 'not a date', ''])('the invalid date %j is skipped for the next source', (value) => {
    expect(dateOfService(order({ occurrenceDateTime: value, authoredOn: '2026-11-20' }), undefined, TODAY)).toEqual({
      date: '2026-11-20',
      source: 'authoredOn',
    });
  });

  // A malformed date must never be read as another day ("2026-1-15" once became 2026-01-01).
  test.each(['2026-1-15', '2026-12-5', '20261201', '2026-12-05garbage'])(
    'the malformed date %j is skipped for the next source, not read as another day',
    (value) => {
      expect(dateOfService(order({ occurrenceDateTime: value, authoredOn: '2026-11-20' }), undefined, TODAY)).toEqual({
        date: '2026-11-20',
        source: 'authoredOn',
      });
    },
  );

  test('2028-02-29 (leap day) is valid', () => {
    expect(dateOfService(order({ occurrenceDateTime: '2028-02-29' }), undefined, TODAY).date).toBe('2028-02-29');
  });

  test('a non-string value is skipped, not thrown on', () => {
    const o = { ...order({ authoredOn: '2026-11-20' }), occurrenceDateTime: 20261201 } as unknown as ServiceRequest;
    expect(dateOfService(o, undefined, TODAY).source).toBe('authoredOn');
  });

  test('every invalid source falls back to today', () => {
    expect(dateOfService(order({ occurrenceDateTime: '2026-02-30', authoredOn: 'soon' }), undefined, TODAY)).toEqual({ date: TODAY, source: 'today' });
  });
});

describe('calendarDate', () => {
  test.each([
    ['2026-12-01', '2026-12-01'],
    [' 2026-12-01 ', '2026-12-01'],
    ['2026-12', '2026-12-01'],
    ['2026-02-30', undefined],
    ['2024-02-29', '2024-02-29'],
    ['2000-02-29', '2000-02-29'],
    ['2023-02-29', undefined],
    ['2100-02-29', undefined],
    ['2026-04-31', undefined],
    ['2026-12-31T23:59:59Z', '2026-12-31'],
    ['2026-13-01', undefined],
    ['2026-00-10', undefined],
    ['2026-01-00', undefined],
    ['2026-12-01x', undefined],
    [undefined, undefined],
    [null, undefined],
  ])('%j → %j', (value, expected) => {
    expect(calendarDate(value)).toBe(expected);
  });
});
