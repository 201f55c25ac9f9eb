import type { Coding } from 'fhir/r4.js';
import { compilePattern } from '../policy/template.js';
import type { ClinicalServiceDoc, CodingEntry, OrderCertainty } from '../policy/types.js';
import type { CodeSystemAliases } from './code-systems.js';
import type { OrderView } from './order-view.js';

/** How an order was recognised as a clinical service (DECISIONS §1); cards say which. */
export type MatchedBy = 'code' | 'billing-option' | 'unlisted-code-with-description' | 'description' | 'unlisted-code';

export interface OrderMatch {
  service: string;
  certainty: OrderCertainty;
  matchedBy: MatchedBy;
  /** The ordered billing code (canonical system), for coverage-information `billingCode`. */
  billingCode?: Coding;
  /** The billing code in words for cards, e.g. "CPT 20560". */
  codeLabel?: string;
  /** The order text that named the service, when text decided. */
  description?: string;
}

const key = (system: string | undefined, code: string | undefined) => `${system ?? ''}|${code?.trim() ?? ''}`;

/** The key under which a coding is looked up: canonical system and trimmed code. */
export const codingKey = (systems: CodeSystemAliases, coding: Coding): string => key(systems.canonical(coding.system), coding.code);

/** Recognises orders for one clinical service, from its data in policies/services/. */
export class ServiceMatcher {
  private readonly codes: Set<string>;
  private readonly unlisted: Set<string>;
  private readonly excluded: Set<string>;
  /** Systems of the service's own codes (CPT): an order coded in them but not with them is another service. */
  readonly billingSystems: ReadonlySet<string>;
  private readonly patterns: RegExp[];
  private readonly exclusionPatterns: RegExp[];

  constructor(
    readonly service: ClinicalServiceDoc,
    private readonly systems: CodeSystemAliases,
  ) {
    const keys = (entries: CodingEntry[]) => new Set(entries.map((c) => key(systems.canonical(c.system), c.code)));
    this.codes = keys(service.codes);
    this.unlisted = keys(service.unlistedCodes);
    this.excluded = keys(service.exclusions.codes);
    this.billingSystems = new Set(
      [...service.codes, ...service.unlistedCodes].map((c) => systems.canonical(c.system)!),
    );
    this.patterns = service.descriptionPatterns.map(compilePattern);
    this.exclusionPatterns = service.exclusions.descriptionPatterns.map(compilePattern);
  }

  private coded(coding: Coding): Pick<OrderMatch, 'billingCode' | 'codeLabel'> {
    const billingCode: Coding = { system: this.systems.canonical(coding.system)!, code: coding.code!.trim() };
    if (coding.display) billingCode.display = coding.display;
    return { billingCode, codeLabel: `${this.systems.nameOf(coding.system)} ${billingCode.code}` };
  }

  /** Keys of the codes that name the service, listed or unlisted (see {@link codingKey}). */
  get codeKeys(): string[] {
    return [...this.codes, ...this.unlisted];
  }

  match(view: OrderView): OrderMatch | undefined {
    const all = [...view.codings, ...view.billingOptions];
    const keyOf = (c: Coding) => key(this.systems.canonical(c.system), c.code);
    // Trigger-point injections and acupuncture are never dry needling, whatever else the order says.
    if (all.some((c) => this.excluded.has(keyOf(c)))) return undefined;
    if (view.texts.some((t) => this.exclusionPatterns.some((p) => p.test(t)))) return undefined;

    const base = { service: this.service.id };
    const direct = view.codings.find((c) => this.codes.has(keyOf(c)));
    if (direct) return { ...base, certainty: 'definite', matchedBy: 'code', ...this.coded(direct) };
    const option = view.billingOptions.find((c) => this.codes.has(keyOf(c)));
    if (option) return { ...base, certainty: 'definite', matchedBy: 'billing-option', ...this.coded(option) };

    const description = view.texts.find((t) => this.patterns.some((p) => p.test(t)));
    const unlisted = all.find((c) => this.unlisted.has(keyOf(c)));
    if (unlisted) {
      return description
        ? { ...base, certainty: 'definite', matchedBy: 'unlisted-code-with-description', ...this.coded(unlisted), description }
        : { ...base, certainty: 'possible', matchedBy: 'unlisted-code', ...this.coded(unlisted) };
    }
    // Text alone decides only when the order carries no code of the billing system (DECISIONS §1: "no CPT code").
    const otherBillingCode = all.some((c) => this.billingSystems.has(this.systems.canonical(c.system)!));
    if (description && !otherBillingCode) return { ...base, certainty: 'definite', matchedBy: 'description', description };
    return undefined;
  }
}
