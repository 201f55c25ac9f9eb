import type { FhirResource } from 'fhir/r4.js';

/** CDS Hooks 2.0 response types (§CDS Service Response). */
export interface CdsCoding { system: string; code: string; display?: string }
export interface CdsLink { label: string; url: string; type: 'absolute' | 'smart'; appContext?: string }
export interface CdsAction { type: 'create' | 'update' | 'delete'; description: string; resource?: FhirResource; resourceId?: string }
export interface CdsSuggestion { label: string; uuid: string; isRecommended?: boolean; actions?: CdsAction[] }
export interface CdsCard {
  uuid: string;
  summary: string;
  detail?: string;
  indicator: 'info' | 'warning' | 'critical';
  source: { label: string; url?: string; icon?: string; topic: CdsCoding };
  suggestions?: CdsSuggestion[];
  selectionBehavior?: 'at-most-one' | 'any';
  overrideReasons?: CdsCoding[];
  links?: CdsLink[];
  extension?: Record<string, unknown>;
}
export interface CdsResponse { cards: CdsCard[]; systemActions?: CdsAction[] }
