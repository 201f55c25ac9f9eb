import { CodeSystemAliases } from '../facts/code-systems.js';
import type {
  CareSettingsDoc,
  ClinicalServiceDoc,
  CoveragePolicyDoc,
  PayerEntry,
  ProductLine,
  ProductLinesDoc,
} from './types.js';

/**
 * Everything the decision needs from policies/, validated and indexed once at start-up.
 * Policies are indexed by payer so a hook call looks up only the policies of the Coverage's payer.
 */
export class PolicyCatalog {
  readonly codeSystems: CodeSystemAliases;
  readonly payers: readonly PayerEntry[];
  readonly services: ReadonlyMap<string, ClinicalServiceDoc>;
  readonly policies: readonly CoveragePolicyDoc[];
  private readonly policiesByPayer = new Map<string, CoveragePolicyDoc[]>();
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
    }
    for (const line of docs.productLines.productLines) this.productLineDisplay.set(line.code, line.display);
  }

  get productLines(): ProductLinesDoc {
    return this.docs.productLines;
  }

  get careSettings(): CareSettingsDoc {
    return this.docs.careSettings;
  }

  policiesFor(payerId: string): readonly CoveragePolicyDoc[] {
    return this.policiesByPayer.get(payerId) ?? [];
  }

  /** Payers that have at least one policy: the payers this service serves. */
  isServed(payerId: string): boolean {
    return this.policiesByPayer.has(payerId);
  }

  displayProductLine(line: ProductLine): string {
    return this.productLineDisplay.get(line) ?? line;
  }
}
