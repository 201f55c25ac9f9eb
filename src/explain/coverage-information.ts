/**
 * The CRD coverage-information extension on an order, told in words for a person (the card view's
 * annotation panel and the hook CLI). It reads any CDS Hooks answer, as an EHR would: it does not
 * trust that the answer came from this service. Code meanings follow the CRD value sets
 * (coverageInfo, coveragePaDetail, AdditionalDocumentation, informationNeeded; CRD 2.0.1 and 2.2.1).
 */
import { COVERAGE_INFORMATION_URL } from '../respond/coverage-information.js';

const COVERED: Record<string, string> = {
  covered: 'Covered: regular coverage applies',
  'not-covered': 'Not covered',
  conditional: 'Conditional: coverage depends on conditions (see the reason)',
  indeterminate: 'Coverage could not be determined',
};

const PA_NEEDED: Record<string, string> = {
  'no-auth': 'No prior authorization needed',
  'auth-needed': 'Prior authorization needed',
  performpa: 'Prior authorization needed, to be sought by the performer',
  satisfied: 'Prior authorization requirements already satisfied',
  conditional: 'Prior authorization may be needed, depending on more information',
  indeterminate: 'Whether prior authorization is needed could not be determined',
};

const DOC_NEEDED: Record<string, string> = {
  clinical: 'clinical documentation',
  admin: 'administrative documentation',
  both: 'clinical and administrative documentation',
  patient: 'documentation from the patient',
  conditional: 'documentation, depending on more information',
};

const INFO_NEEDED: Record<string, string> = {
  performer: 'who will perform the service',
  location: 'where the service will be performed (the care setting)',
  timeframe: 'when the service will be performed',
  'contract-window': 'a date inside the current contract window',
  'detail-code': 'a more specific code for the service',
  OTH: 'other information (see the reason)',
};

interface Ext {
  url?: string;
  valueCode?: string;
  valueString?: string;
  valueDate?: string;
  valueBoolean?: boolean;
  valueUrl?: string;
  valueUri?: string;
  valueReference?: { reference?: string; display?: string };
  valueCoding?: { system?: string; code?: string; display?: string };
  valueCodeableConcept?: { text?: string; coding?: Array<{ code?: string; display?: string }> };
  extension?: Ext[];
}

/** One coverage-information repetition in plain fields and sentences. */
export interface CoverageAnnotation {
  coverage?: string;
  covered?: string;
  paNeeded?: string;
  docNeeded: string[];
  infoNeeded: string[];
  billingCodes: string[];
  reasons: string[];
  details: string[];
  date?: string;
  assertionId?: string;
  /** The whole repetition said in sentences, most important first. */
  sentences: string[];
}

/** The coverage information carried by one order of the answer's systemActions. */
export interface OrderAnnotation {
  /** `ResourceType/id` of the updated order. */
  order: string;
  /** What the order asks for, from its code. */
  orderText?: string;
  coverages: CoverageAnnotation[];
}

function words(table: Record<string, string>, code: string): string {
  return table[code] ?? `"${code}"`;
}

function detailWords(detail: Ext): string {
  const parts = detail.extension ?? [];
  const code = parts.find((p) => p.url === 'code')?.valueCodeableConcept;
  const value = parts.find((p) => p.url === 'value');
  const label = code?.coding?.[0]?.display ?? code?.text ?? code?.coding?.[0]?.code ?? 'detail';
  const shown = value?.valueUrl ?? value?.valueUri ?? value?.valueString ?? (value?.valueBoolean !== undefined ? String(value.valueBoolean) : undefined);
  return shown === undefined ? label : `${label}: ${shown}`;
}

function annotate(extension: Ext): CoverageAnnotation {
  const parts = extension.extension ?? [];
  const one = (url: string) => parts.find((p) => p.url === url);
  const all = (url: string) => parts.filter((p) => p.url === url);
  const covered = one('covered')?.valueCode;
  const paNeeded = one('pa-needed')?.valueCode;
  const docNeeded = all('doc-needed').flatMap((p) => (p.valueCode ? [p.valueCode] : []));
  const infoNeeded = all('info-needed').flatMap((p) => (p.valueCode ? [p.valueCode] : []));
  const billingCodes = all('billingCode').flatMap((p) => (p.valueCoding?.code ? [p.valueCoding.code] : []));
  const reasons = all('reason').flatMap((p) => {
    const concept = p.valueCodeableConcept;
    const coded = (concept?.coding ?? []).map((c) => c.display ?? c.code).filter((t): t is string => !!t);
    const text = concept?.text ? [concept.text] : [];
    return [...text, ...coded.filter((c) => !text.includes(c))];
  });
  const details = all('detail').map(detailWords);
  const coverage = one('coverage')?.valueReference?.reference;
  const date = one('date')?.valueDate;
  const assertionId = one('coverage-assertion-id')?.valueString;

  const sentences: string[] = [];
  sentences.push(covered ? `${words(COVERED, covered)}.` : 'No coverage determination (the required "covered" part is missing).');
  if (paNeeded) sentences.push(`${words(PA_NEEDED, paNeeded)}.`);
  else if (covered === 'not-covered') sentences.push('Prior authorization does not apply.');
  if (docNeeded.length > 0) sentences.push(`Documentation needed: ${docNeeded.map((d) => words(DOC_NEEDED, d)).join('; ')}.`);
  if (infoNeeded.length > 0) sentences.push(`Still needed for a decision: ${infoNeeded.map((i) => words(INFO_NEEDED, i)).join('; ')}.`);
  for (const reason of reasons) sentences.push(`Reason: ${reason}`);
  if (billingCodes.length > 0) sentences.push(`Billing code${billingCodes.length > 1 ? 's' : ''}: ${billingCodes.join(', ')}.`);
  for (const detail of details) sentences.push(`Detail: ${detail}`);
  const trace = [coverage ? `for ${coverage}` : undefined, date ? `asserted ${date}` : undefined, assertionId ? `assertion id ${assertionId}` : undefined]
    .filter((t): t is string => !!t)
    .join(', ');
  if (trace) sentences.push(`(${trace})`);

  return {
    ...(coverage ? { coverage } : {}),
    ...(covered ? { covered } : {}),
    ...(paNeeded ? { paNeeded } : {}),
    docNeeded,
    infoNeeded,
    billingCodes,
    reasons,
    details,
    ...(date ? { date } : {}),
    ...(assertionId ? { assertionId } : {}),
    sentences,
  };
}

/** Every order the answer annotates with coverage information (CRD: `update` systemActions). */
export function coverageAnnotations(response: unknown): OrderAnnotation[] {
  const actions = (response as { systemActions?: unknown } | null)?.systemActions;
  if (!Array.isArray(actions)) return [];
  return actions.flatMap((action: { resource?: { resourceType?: string; id?: string; extension?: Ext[]; code?: Ext['valueCodeableConcept']; description?: string } }) => {
    const resource = action?.resource;
    const extensions = (resource?.extension ?? []).filter((e) => e?.url === COVERAGE_INFORMATION_URL);
    if (!resource || extensions.length === 0) return [];
    const orderText = resource.code?.text ?? resource.code?.coding?.[0]?.display ?? resource.description;
    return [
      {
        order: `${resource.resourceType ?? 'Resource'}/${resource.id ?? '?'}`,
        ...(orderText ? { orderText } : {}),
        coverages: extensions.map(annotate),
      },
    ];
  });
}
