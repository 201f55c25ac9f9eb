import type { FhirResource } from 'fhir/r4.js';
import { DEV_ISSUER, signDevToken } from '../auth/dev-key.js';
import { careSetting } from '../facts/care-setting.js';
import { coverageAnnotations, type OrderAnnotation } from '../explain/coverage-information.js';
import type { ServiceDefinition } from '../hooks/service-definitions.js';
import { badRequest } from '../http/errors.js';
import type { PolicyCatalog } from '../policy/catalog.js';
import type { CareSetting } from '../policy/types.js';
import { OVERRIDE_REASON_SYSTEM } from '../respond/cards.js';
import type { CareSettingChoice } from '../scenarios/care-setting-choice.js';
import { describeRequest, type ScenarioPicture } from '../scenarios/describe.js';
import { type CdsHooksRequestJson, type Scenario, type ScenarioBook } from '../scenarios/scenarios.js';

/** How a call was authenticated, for the page; the token itself never leaves the server. */
export interface CallAuthorization { scheme: 'Bearer'; iss: string; aud: string }

/** One HTTP exchange with the service, as the page shows it. */
export interface Exchange {
  method: 'POST';
  url: string;
  authorization: CallAuthorization;
  request: unknown;
  status: number;
  response: unknown;
}

export interface FireResult extends Exchange {
  scenario: Scenario;
  serviceId: string;
  careSetting: CareSettingChoice;
  /** The coverage information on each order of the answer, in words. */
  annotations: OrderAnnotation[];
}

export interface ScenarioListing extends Scenario {
  serviceId: string;
  picture: ScenarioPicture;
}

export interface FeedbackResult extends Exchange {
  /** The care setting the accepted suggestion records on the order (the page then signs again with it). */
  recordsCareSetting?: CareSetting;
}

export interface FeedbackChoice {
  card: string;
  outcome: 'overridden' | 'accepted';
  /** overridden: the code of one of the card's override reasons (absent: no reason given). */
  reason?: string;
  userComment?: string;
  /** accepted: the uuid of the suggestion taken. */
  suggestion?: string;
}

export interface DemoEhrOptions {
  catalog: PolicyCatalog;
  services: readonly ServiceDefinition[];
  scenarios: ScenarioBook;
  /** Where the development key lives (default: src/auth/dev-key.ts's). */
  devKeyDir?: string;
  /** The service's public base URL, when it is set (then it, not the loopback URL, is the JWT audience). */
  publicBaseUrl?: string;
  /** Deadline of one call to the service. */
  timeoutMs?: number;
}

interface RememberedCard {
  serviceId: string;
  overrideReasons: Array<{ system: string; code: string; display?: string }>;
  /** Suggestion uuid → the care setting its update records on the order, if it records one. */
  suggestions: Map<string, CareSetting | undefined>;
}

/** How many answered cards are remembered for feedback; the oldest are forgotten first. */
const REMEMBERED_CARDS = 500;

/**
 * The card view's server side: a small demo EHR. It builds a hook request from the shipped
 * scenarios only, signs a CDS Hooks client JWT with the local development key (audience = the
 * exact URL it calls) and POSTs it over real HTTP to this same service, so the call goes through
 * authentication, validation and the whole pipeline. The browser sends only a scenario name and
 * its choices, and never sees a token. Feedback is only sent for cards this EHR received, with an
 * override reason the card offered (CDS Hooks 2.0 §Feedback).
 */
export class DemoEhr {
  private readonly cards = new Map<string, RememberedCard>();
  private listing: ScenarioListing[] | undefined;

  constructor(private readonly options: DemoEhrOptions) {}

  /** The scenarios with what the picker shows of each (computed once: the scenarios are data). */
  scenarios(): ScenarioListing[] {
    this.listing ??= this.options.scenarios.list().map((scenario) => ({
      ...scenario,
      serviceId: this.service(scenario).id,
      picture: describeRequest(this.options.scenarios.request(scenario.name, {}, this.options.catalog.careSettings), this.options.catalog),
    }));
    return this.listing;
  }

  /** Fires the scenario's hook at the service listening at `selfBaseUrl`. */
  async fire(selfBaseUrl: string, name: string, careSetting: CareSettingChoice): Promise<FireResult> {
    const scenario = this.options.scenarios.get(name);
    if (!scenario) throw badRequest(`No scenario "${name}"; GET /card-view/api/scenarios lists them.`, ['scenario']);
    const request = this.options.scenarios.request(scenario.name, { careSetting }, this.options.catalog.careSettings);
    const service = this.service(scenario);
    const exchange = await this.post(selfBaseUrl, `/cds-services/${service.id}`, request);
    this.remember(service.id, exchange.status === 200 ? exchange.response : undefined);
    return { ...exchange, scenario, serviceId: service.id, careSetting, annotations: exchange.status === 200 ? coverageAnnotations(exchange.response) : [] };
  }

  /** Sends CDS Hooks feedback on a card this EHR received. */
  async feedback(selfBaseUrl: string, choice: FeedbackChoice): Promise<FeedbackResult> {
    const card = this.cards.get(choice.card);
    if (!card) throw badRequest('The card view has not shown a card with this uuid (or has forgotten it): fire the hook again.', ['card']);
    const item: Record<string, unknown> = { card: choice.card, outcome: choice.outcome, outcomeTimestamp: new Date().toISOString() };
    if (choice.outcome === 'overridden') {
      const reason = choice.reason === undefined ? undefined : card.overrideReasons.find((r) => r.code === choice.reason);
      if (choice.reason !== undefined && !reason) throw badRequest(`The card offers no override reason "${choice.reason}".`, ['reason']);
      const comment = choice.userComment?.trim();
      if (reason || comment) item.overrideReason = { ...(reason ? { reason } : {}), ...(comment ? { userComment: comment } : {}) };
    } else {
      if (!choice.suggestion || !card.suggestions.has(choice.suggestion)) {
        throw badRequest('The card offers no suggestion with this uuid.', ['suggestion']);
      }
      item.acceptedSuggestions = [{ id: choice.suggestion }];
    }
    const exchange = await this.post(selfBaseUrl, `/cds-services/${card.serviceId}/feedback`, { feedback: [item] });
    const recorded = choice.suggestion ? card.suggestions.get(choice.suggestion) : undefined;
    return recorded ? { ...exchange, recordsCareSetting: recorded } : exchange;
  }

  private service(scenario: Scenario): ServiceDefinition {
    const service = this.options.services.find((s) => s.hook === scenario.hook);
    if (!service) throw new Error(`No service answers the ${scenario.hook} hook`);
    return service;
  }

  private remember(serviceId: string, response: unknown): void {
    const cards = (response as { cards?: unknown } | undefined)?.cards;
    if (!Array.isArray(cards)) return;
    for (const card of cards as Array<{ uuid?: unknown; overrideReasons?: unknown; suggestions?: unknown }>) {
      if (typeof card.uuid !== 'string') continue;
      const reasons = Array.isArray(card.overrideReasons) ? (card.overrideReasons as RememberedCard['overrideReasons']) : [];
      const suggestions = Array.isArray(card.suggestions) ? (card.suggestions as Array<{ uuid?: unknown; actions?: unknown }>) : [];
      this.cards.set(card.uuid, {
        serviceId,
        overrideReasons: reasons.filter((r) => typeof r?.code === 'string').map((r) => ({ system: r.system ?? OVERRIDE_REASON_SYSTEM, code: r.code, ...(r.display ? { display: r.display } : {}) })),
        suggestions: new Map(suggestions.flatMap((s) => (typeof s?.uuid === 'string' ? [[s.uuid, this.recordedCareSetting(s.actions)] as const] : []))),
      });
    }
    while (this.cards.size > REMEMBERED_CARDS) this.cards.delete(this.cards.keys().next().value!);
  }

  /** The care setting a suggestion's order updates record, when they all record the same one. */
  private recordedCareSetting(actions: unknown): CareSetting | undefined {
    if (!Array.isArray(actions)) return undefined;
    const settings = new Set(
      (actions as Array<{ type?: unknown; resource?: { resourceType?: unknown } }>)
        .filter((a) => a?.type === 'update' && a.resource?.resourceType === 'ServiceRequest')
        .map((a) => careSetting(a.resource as FhirResource, undefined, this.options.catalog.careSettings, this.options.catalog.codeSystems).setting),
    );
    const [only] = settings;
    return settings.size === 1 && only !== 'unknown' ? only : undefined;
  }

  private async post(selfBaseUrl: string, path: string, body: CdsHooksRequestJson | Record<string, unknown>): Promise<Exchange> {
    const url = `${selfBaseUrl}${path}`;
    const audience = `${this.options.publicBaseUrl?.replace(/\/+$/, '') ?? selfBaseUrl}${path}`;
    const token = await signDevToken({ audience, ...(this.options.devKeyDir ? { keyDir: this.options.devKeyDir } : {}) });
    const res = await fetch(url, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(this.options.timeoutMs ?? 10_000),
    });
    const text = await res.text();
    let response: unknown = text;
    try {
      response = text === '' ? null : JSON.parse(text);
    } catch {
      // not JSON: shown as text
    }
    return { method: 'POST', url, authorization: { scheme: 'Bearer', iss: DEV_ISSUER, aud: audience }, request: body, status: res.status, response };
  }
}
