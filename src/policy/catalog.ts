import { CodeSystemAliases } from '../facts/code-systems.js';
import type {
  CareSettingsDoc,
  ClinicalServiceDoc,
  CoveragePolicyDoc,
  PayerEntry,
  ProductLine,
  ProductLinesDoc,
} from './types.js';

const payerServiceKey = (payerId: string, serviceId: string) => `${payerId}\u0000${serviceId}`;

/**
 * Everything the decision needs from policies/, validated and indexed once at start-up.
 * Policies are indexed by payer, and by payer and service, so a hook call looks up only the
 * policies of the Coverage's payer about the order's service.
 */
export class PolicyCatalog {
  readonly codeSystems: CodeSystemAliases;
  readonly payers: readonly PayerEntry[];
  readonly services: ReadonlyMap<string, ClinicalServiceDoc>;
  readonly policies: readonly CoveragePolicyDoc[];
  private readonly policiesByPayer = new Map<string, CoveragePolicyDoc[]>();
  private readonly policiesByPayerService = new Map<string, CoveragePolicyDoc[]>();
  private readonly productLineDisplay = new Map<ProductLine, string>();

  constructor(
    readonly docs: {
      codeSystems: ConstructorParameters<typeof CodeSystemAliases>[0];
      payers: PayerEntry[];
      services: ClinicalServiceDoc[];
      productLines: ProductLinesDoc;
      careSettings: CareSettingsDoc;
      policies: CoveragePolicyDoc[];
    },
  ) {
    this.codeSystems = new CodeSystemAliases(docs.codeSystems);
    this.payers = docs.payers;
    this.services = new Map(docs.services.map((s) => [s.id, s]));
    this.policies = docs.policies;
    for (const policy of docs.policies) {
      const list = this.policiesByPayer.get(policy.payer) ?? [];
      list.push(policy);
      this.policiesByPayer.set(policy.payer, list);
      const key = payerServiceKey(policy.payer, policy.service);
      this.policiesByPayerService.set(key, [...(this.policiesByPayerService.get(key) ?? []), policy]);
    }
    for (const line of docs.productLines.productLines) this.productLineDisplay.set(line.code, line.display);
  }

  get productLines(): ProductLinesDoc {
    return this.docs.productLines;
  }

  get careSettings(): CareSettingsDoc {
    return this.docs.careSettings;
  }

  /** The payer's policies; with a service, only those about it (a lookup, however many policies there are). */
  policiesFor(payerId: string, serviceId?: string): readonly CoveragePolicyDoc[] {
    const found = serviceId === undefined ? this.policiesByPayer.get(payerId) : this.policiesByPayerService.get(payerServiceKey(payerId, serviceId));
    return found ?? [];
  }

  /** Payers that have at least one policy: the payers this service serves. */
  isServed(payerId: string): boolean {
    return this.policiesByPayer.has(payerId);
  }

  displayProductLine(line: ProductLine): string {
    return this.productLineDisplay.get(line) ?? line;
  }
}
