/**
 * What the page reads: CDS Hooks 2.0 cards as any EHR receives them, and the card view API's
 * answers (src/card-view/demo-ehr.ts). The page is a client: it types what it reads, nothing more.
 */
export type Indicator = 'info' | 'warning' | 'critical';

export interface Coding { system?: string; code: string; display?: string }
export interface Link { label: string; url: string; type?: 'absolute' | 'smart' }
export interface Action { type: string; description?: string; resource?: { resourceType?: string; id?: string } }
export interface Suggestion { label: string; uuid?: string; isRecommended?: boolean; actions?: Action[] }

export interface Card {
  uuid?: string;
  summary: string;
  detail?: string;
  indicator: Indicator;
  source: { label: string; url?: string; icon?: string; topic?: Coding };
  suggestions?: Suggestion[];
  selectionBehavior?: 'at-most-one' | 'any';
  overrideReasons?: Coding[];
  links?: Link[];
}

export interface CdsResponse { cards?: Card[]; systemActions?: Action[] }

export interface OperationOutcome { resourceType: 'OperationOutcome'; issue?: Array<{ severity?: string; code?: string; diagnostics?: string }> }

export interface ScenarioPicture {
  patient: { reference: string; name: string; birthDate?: string };
  coverages: Array<{ reference: string; payer: string; plan?: string; status?: string; period?: string }>;
  orders: Array<{ reference: string; text: string; codes: string[]; date?: string; careSetting?: string }>;
}

export interface ScenarioListing {
  name: string;
  hook: string;
  row: string;
  status: number;
  description: string;
  serviceId: string;
  picture: ScenarioPicture;
}

export interface ScenarioList { scenarios: ScenarioListing[]; careSettings: string[] }

export interface Exchange {
  method: string;
  url: string;
  authorization: { scheme: string; iss: string; aud: string };
  request: unknown;
  status: number;
  response: unknown;
}

export interface CoverageAnnotation { coverage?: string; covered?: string; paNeeded?: string; infoNeeded: string[]; sentences: string[] }
export interface OrderAnnotation { order: string; orderText?: string; coverages: CoverageAnnotation[] }

export interface FireResult extends Exchange {
  scenario: Omit<ScenarioListing, 'serviceId' | 'picture'>;
  serviceId: string;
  careSetting: string;
  annotations: OrderAnnotation[];
}

export interface FeedbackResult extends Exchange {
  /** Set when the accepted suggestion records a care setting on the order. */
  recordsCareSetting?: string;
}
