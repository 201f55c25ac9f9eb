import type { Coding } from 'fhir/r4.js';
import { badRequest } from '../http/errors.js';
import { compileSchema } from '../validation/validators.js';

/** One CDS Hooks 2.0 feedback entry (§Feedback), as stored. */
export interface FeedbackEntry {
  card: string;
  outcome: 'accepted' | 'overridden';
  acceptedSuggestions?: Array<{ id: string }>;
  overrideReason?: { reason?: Coding; userComment?: string };
  outcomeTimestamp: string;
}

export interface FeedbackRecord extends FeedbackEntry {
  serviceId: string;
  /** Who sent it (the verified `iss`/`tenant`), when authentication is on. */
  iss?: string;
  tenant?: string;
  receivedAt: string;
}

/** Where feedback is kept: the records database (src/records/), committed before the POST is answered. */
export interface FeedbackStore {
  record(entries: FeedbackRecord[]): Promise<void>;
}

const text = { type: 'string', minLength: 1, maxLength: 1024 };
const schema = {
  type: 'object',
  required: ['feedback'],
  properties: {
    feedback: {
      type: 'array',
      minItems: 1,
      maxItems: 100,
      items: {
        type: 'object',
        required: ['card', 'outcome', 'outcomeTimestamp'],
        properties: {
          card: text,
          outcome: { enum: ['accepted', 'overridden'] },
          acceptedSuggestions: { type: 'array', minItems: 1, maxItems: 50, items: { type: 'object', required: ['id'], properties: { id: text } } },
          overrideReason: {
            type: 'object',
            properties: {
              reason: {
                type: 'object',
                required: ['code'],
                properties: { system: { type: 'string', maxLength: 1024 }, code: text, display: { type: 'string', maxLength: 1024 } },
              },
              userComment: { type: 'string', maxLength: 4096 },
            },
          },
          // RFC 3339 §5.6 date-time, UTC or with an offset.
          outcomeTimestamp: { type: 'string', pattern: '^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}(\\.\\d+)?(Z|[+-]\\d{2}:\\d{2})$' },
        },
        // CDS Hooks 2.0: acceptedSuggestions is REQUIRED when accepted; an override reason only fits an override.
        allOf: [
          { if: { properties: { outcome: { const: 'accepted' } } }, then: { required: ['acceptedSuggestions'], not: { required: ['overrideReason'] } } },
        ],
      },
    },
  },
} as const;

const validate = compileSchema(schema, { allErrors: false, strict: false });

/** The feedback entries of a request body; 400 naming the first problem otherwise. Unknown fields are dropped. */
export function parseFeedback(body: unknown): FeedbackEntry[] {
  if (!validate(body)) {
    const error = validate.errors?.[0];
    const at = error?.instancePath || '/';
    throw badRequest(`Feedback at ${at}: ${error?.message ?? 'invalid'} (CDS Hooks 2.0 §Feedback).`, [at]);
  }
  return (body as { feedback: FeedbackEntry[] }).feedback.map((f) => ({
    card: f.card,
    outcome: f.outcome,
    outcomeTimestamp: f.outcomeTimestamp,
    ...(f.acceptedSuggestions ? { acceptedSuggestions: f.acceptedSuggestions.map((s) => ({ id: s.id })) } : {}),
    ...(f.overrideReason
      ? {
          overrideReason: {
            ...(f.overrideReason.reason ? { reason: pickCoding(f.overrideReason.reason) } : {}),
            ...(f.overrideReason.userComment !== undefined ? { userComment: f.overrideReason.userComment } : {}),
          },
        }
      : {}),
  }));
}

function pickCoding(c: Coding): Coding {
  return { ...(c.system ? { system: c.system } : {}), code: c.code!, ...(c.display ? { display: c.display } : {}) };
}
