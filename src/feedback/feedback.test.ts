import { HttpError } from '../http/errors.js';
import { parseFeedback } from './feedback.js';

const at = '2026-11-23T10:05:31Z';

describe('CDS Hooks 2.0 §Feedback bodies', () => {
  test('accepted with acceptedSuggestions, overridden with or without a reason; unknown fields dropped', () => {
    expect(
      parseFeedback({
        feedback: [
          { card: 'c1', outcome: 'accepted', acceptedSuggestions: [{ id: 's1', extra: 1 }], outcomeTimestamp: at, extra: true },
          { card: 'c2', outcome: 'overridden', outcomeTimestamp: at },
          { card: 'c3', outcome: 'overridden', overrideReason: { reason: { system: 'http://x', code: 'patient-informed', display: 'Patient informed' }, userComment: 'ok' }, outcomeTimestamp: '2026-11-23T05:05:31.120-05:00' },
        ],
      }),
    ).toEqual([
      { card: 'c1', outcome: 'accepted', acceptedSuggestions: [{ id: 's1' }], outcomeTimestamp: at },
      { card: 'c2', outcome: 'overridden', outcomeTimestamp: at },
      { card: 'c3', outcome: 'overridden', overrideReason: { reason: { system: 'http://x', code: 'patient-informed', display: 'Patient informed' }, userComment: 'ok' }, outcomeTimestamp: '2026-11-23T05:05:31.120-05:00' },
    ]);
  });

  test.each([
    ['no feedback array', {}],
    ['an empty feedback array', { feedback: [] }],
    ['no card', { feedback: [{ outcome: 'overridden', outcomeTimestamp: at }] }],
    ['an unknown outcome', { feedback: [{ card: 'c', outcome: 'ignored', outcomeTimestamp: at }] }],
    ['accepted without acceptedSuggestions', { feedback: [{ card: 'c', outcome: 'accepted', outcomeTimestamp: at }] }],
    ['accepted with an override reason', { feedback: [{ card: 'c', outcome: 'accepted', acceptedSuggestions: [{ id: 's' }], overrideReason: { userComment: 'x' }, outcomeTimestamp: at }] }],
    ['a timestamp that is not RFC 3339', { feedback: [{ card: 'c', outcome: 'overridden', outcomeTimestamp: '23/11/2026' }] }],
    ['a reason without a code', { feedback: [{ card: 'c', outcome: 'overridden', overrideReason: { reason: { display: 'x' } }, outcomeTimestamp: at }] }],
    ['not an object', 'feedback'],
  ])('%s → 400', (_name, body) => {
    expect(() => parseFeedback(body)).toThrow(HttpError);
  });
});
