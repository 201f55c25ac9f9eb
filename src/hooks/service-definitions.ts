import type { PolicyCatalog } from '../policy/catalog.js';

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

const extension = {
  'davinci-crd.configuration-options': CONFIGURATION_OPTIONS,
  // CRD 2.2 version declaration; the default answer is valid under CRD 2.0.1 and 2.2.1 at once.
  'davinci-crd.version': ['2.2'],
};

const HOOKS: Array<{ hook: HookName; what: string; prefetch: Record<string, string> }> = [
  { hook: 'order-sign', what: 'Checks orders being signed', prefetch: { ...PREFETCH } },
  { hook: 'order-select', what: 'Early guidance for the selected orders, before they are signed', prefetch: { ...PREFETCH } },
  { hook: 'order-dispatch', what: 'Checks orders when a performer is chosen', prefetch: { patient: PREFETCH.patient, coverage: PREFETCH.coverage } },
  { hook: 'appointment-book', what: 'Checks the orders behind appointments being booked', prefetch: { ...PREFETCH } },
];

/**
 * The services, described from the policy data so that a new payer or policy shows up in discovery
 * without a code change.
 */
export function serviceDefinitions(catalog: PolicyCatalog): ServiceDefinition[] {
  const services = [...catalog.services.values()].map((s) => s.name.toLowerCase());
  const policies = catalog.policies.map((p) => {
    const payer = catalog.payers.find((x) => x.id === p.payer);
    return `${payer?.name ?? p.payer} ${p.number ? `${p.number} ` : ''}"${p.title}"`;
  });
  const subject = services.join(', ');
  return HOOKS.map(({ hook, what, prefetch }) => ({
    id: `crd-${hook}`,
    hook,
    title: `Coverage requirements for ${subject} (${hook})`,
    description: `${what} against the encoded payer policies (${policies.join('; ')}) and annotates each with CRD coverage information.`,
    prefetch,
    usageRequirements: `Payers served: ${catalog.payers.filter((p) => catalog.isServed(p.id)).map((p) => p.name).join(', ')}. Evaluates ServiceRequests for ${subject}.`,
    extension,
  }));
}

/** CRD primary hooks always answer with a systemActions array (CRD §Hooks; Inferno 3.x.05). */
export const PRIMARY_HOOKS: ReadonlySet<HookName> = new Set(['order-sign', 'order-dispatch', 'appointment-book']);
