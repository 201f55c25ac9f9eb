/**
 * Types of the policy data in policies/ (each mirrors a JSON Schema in policies/schemas/).
 * Adding a payer or a policy changes these files' contents, never this code.
 */

export type ProductLine = 'commercial' | 'medicare-advantage' | 'medicare' | 'medicaid' | 'other-government';
export type CareSetting = 'inpatient' | 'outpatient' | 'unknown';
export type OrderCertainty = 'definite' | 'possible';
export type CoveredCode = 'covered' | 'not-covered' | 'conditional';
export type PaNeededCode = 'no-auth' | 'auth-needed' | 'satisfied' | 'performpa' | 'conditional';
export type InfoNeededCode = 'performer' | 'location' | 'timeframe' | 'contract-window' | 'detail-code' | 'OTH';
export type Indicator = 'info' | 'warning' | 'critical';

export interface CodingEntry { system: string; code: string; display?: string }
export type PatternEntry = string | { pattern: string; caseSensitive?: boolean };
export interface Link { label: string; url: string }

export interface CodeSystemsDoc { systems: Array<{ canonical: string; name: string; aliases: string[] }> }

export interface ClinicalServiceDoc {
  id: string;
  name: string;
  codes: CodingEntry[];
  unlistedCodes: CodingEntry[];
  descriptionPatterns: PatternEntry[];
  exclusions: { codes: CodingEntry[]; descriptionPatterns: PatternEntry[] };
}

export interface ProductLinesDoc {
  productLines: Array<{ code: ProductLine; display: string }>;
  typeCodes: Array<{
    system: string;
    code?: string;
    prefix?: string;
    productLine: ProductLine;
    planType?: string;
    strength: 'strong' | 'weak';
  }>;
  namePatterns: Array<{ pattern: string; productLine: ProductLine }>;
}

export interface CareSettingsDoc {
  signals: Array<{
    source: 'order.category' | 'order.locationCode' | 'encounter.class';
    system: string;
    codeLength?: number;
    inpatient: string[];
    outpatient: string[];
  }>;
}

export interface PayerEntry {
  id: string;
  name: string;
  shortName: string;
  identifiers: Array<{ system: string; value: string }>;
  aliases: string[];
  policyLibrary: Link;
  planNamePatterns: Array<{ pattern: string; productLine: ProductLine }>;
}
export interface PayersDoc { payers: PayerEntry[] }

export interface RuleDetermination {
  covered: CoveredCode;
  paNeeded?: PaNeededCode;
  infoNeeded?: InfoNeededCode[];
  reason: string;
  /** Forms used only when the client asked for CRD 2.2. */
  crd22?: { infoNeeded?: InfoNeededCode[]; reasonCodes?: string[] };
}

export interface PolicyRule {
  id: string;
  when: {
    coverageActive?: boolean;
    orderCertainty?: OrderCertainty[];
    productLines?: ProductLine[];
    careSettings?: CareSetting[];
  };
  determination: RuleDetermination;
  card: { indicator: Indicator; summary: string; detail: string };
  links?: Link[];
  suggestions?: Array<{ label: string; recordCareSetting: 'inpatient' | 'outpatient' }>;
}

export interface CoveragePolicyDoc {
  id: string;
  payer: string;
  number?: string;
  title: string;
  service: string;
  source?: string;
  versions: Array<{ version: string; effective: string; label: string }>;
  scope: OrderCertainty[];
  unknownProductLine?: ProductLine;
  links: Link[];
  overrideReasons: Array<{ code: string; display: string }>;
  rules: PolicyRule[];
}
