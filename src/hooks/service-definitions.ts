/**
 * Discovery metadata (CDS Hooks 2.0 §Discovery), one entry per CRD hook this service answers.
 * Prefetch templates use only CDS Hooks 2.0 root-level, primitive context tokens; the payer
 * Organization comes with the Coverage through `_include=Coverage:payor`, so one query gives both.
 */
export type HookName = 'order-sign' | 'order-select' | 'order-dispatch' | 'appointment-book';

export interface ConfigurationOption {
  code: string;
  type: 'boolean' | 'integer';
  name: string;
  description: string;
  default: boolean | number;
}

export interface ServiceDefinition {
  id: string;
  hook: HookName;
  title: string;
  description: string;
  prefetch: Record<string, string>;
  usageRequirements?: string;
  extension: {
    'davinci-crd.configuration-options': ConfigurationOption[];
    'davinci-crd.version': string[];
  };
}

/** The prefetch keys the service reads; clients may satisfy any of them, the rest is queried. */
export const PREFETCH = {
  patient: 'Patient/{{context.patientId}}',
  coverage: 'Coverage?patient={{context.patientId}}&status=active&_include=Coverage:payor',
  encounter: 'Encounter/{{context.encounterId}}',
} as const;

/** CRD §Configuration options: a boolean per card type returned (coverage-info), and max-cards. */
export const CONFIGURATION_OPTIONS: ConfigurationOption[] = [
  {
    code: 'coverage-info',
    type: 'boolean',
    name: 'Coverage information',
    description: 'Return coverage, prior-authorization and documentation guidance: coverage-info cards and coverage-information system actions.',
    default: true,
  },
  {
    code: 'max-cards',
    type: 'integer',
    name: 'Maximum cards',
    description: 'The largest number of cards returned in one response; the most urgent cards are kept.',
    default: 10,
  },
];

const USAGE =
  'Payers served: Medica Central and Blue Cross Blue Shield of Massachusetts. Evaluates dry-needling ServiceRequests (CPT 20560, 20561, 20999 with a dry-needling description, or a dry-needling description alone).';

const extension = {
  'davinci-crd.configuration-options': CONFIGURATION_OPTIONS,
  // CRD 2.2 version declaration; the default answer is valid under CRD 2.0.1 and 2.2.1 at once.
  'davinci-crd.version': ['2.2'],
};

export const SERVICE_DEFINITIONS: readonly ServiceDefinition[] = [
  {
    id: 'crd-order-sign',
    hook: 'order-sign',
    title: 'Coverage requirements for dry needling (order-sign)',
    description:
      'Checks signed dry-needling orders against the payer policies (Medica Central MP9672; BCBS MA Dry Needling of Trigger Points) and annotates each with CRD coverage information.',
    prefetch: { ...PREFETCH },
    usageRequirements: USAGE,
    extension,
  },
  {
    id: 'crd-order-select',
    hook: 'order-select',
    title: 'Coverage requirements for dry needling (order-select)',
    description: 'Early coverage guidance for the selected dry-needling orders, before they are signed.',
    prefetch: { ...PREFETCH },
    usageRequirements: USAGE,
    extension,
  },
  {
    id: 'crd-order-dispatch',
    hook: 'order-dispatch',
    title: 'Coverage requirements for dry needling (order-dispatch)',
    description: 'Coverage information for dry-needling orders when a performer is chosen.',
    prefetch: { patient: PREFETCH.patient, coverage: PREFETCH.coverage },
    usageRequirements: USAGE,
    extension,
  },
  {
    id: 'crd-appointment-book',
    hook: 'appointment-book',
    title: 'Coverage requirements for dry needling (appointment-book)',
    description: 'Coverage information for dry-needling orders behind appointments being booked.',
    prefetch: { ...PREFETCH },
    usageRequirements: USAGE,
    extension,
  },
];

/** CRD primary hooks always answer with a systemActions array (CRD §Hooks; Inferno 3.x.05). */
export const PRIMARY_HOOKS: ReadonlySet<HookName> = new Set(['order-sign', 'order-dispatch', 'appointment-book']);
