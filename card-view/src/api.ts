import type { FeedbackResult, FireResult, OperationOutcome, ScenarioList } from './types.js';

/** The card view API failed: its OperationOutcome's diagnostics, or the HTTP status. */
export class ApiError extends Error {}

async function call<T>(path: string, body?: unknown): Promise<T> {
  const res = await fetch(`/card-view/api/${path}`, {
    method: body === undefined ? 'GET' : 'POST',
    headers: body === undefined ? { accept: 'application/json' } : { accept: 'application/json', 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const answer: unknown = await res.json().catch(() => undefined);
  if (!res.ok) {
    const outcome = answer as OperationOutcome | undefined;
    const said = outcome?.issue?.map((i) => i.diagnostics).filter((d) => !!d).join('; ');
    throw new ApiError(`The card view answered ${res.status}${said ? `: ${said}` : ''}`);
  }
  return answer as T;
}

export const loadScenarios = (): Promise<ScenarioList> => call<ScenarioList>('scenarios');

export const fire = (scenario: string, careSetting: string): Promise<FireResult> => call<FireResult>('fire', { scenario, careSetting });

export interface FeedbackChoice {
  card: string;
  outcome: 'overridden' | 'accepted';
  reason?: string;
  userComment?: string;
  suggestion?: string;
}

export const sendFeedback = (choice: FeedbackChoice): Promise<FeedbackResult> => call<FeedbackResult>('feedback', choice);
