import { ServiceMatcher, type OrderMatch } from '../facts/order-match.js';
import { orderView } from '../facts/order-view.js';
import { PayerRegistry } from '../facts/payer.js';
import type { PolicyCatalog } from '../policy/catalog.js';
import type { OrderCertainty } from '../policy/types.js';
import type { OrderUnderReview } from './orders.js';

/** The policy data turned into matchers and lookups once at start-up, shared by every hook call. */
export class DecisionEngine {
  readonly payers: PayerRegistry;
  private readonly matchers: ServiceMatcher[];
  /** For each service, the match certainties some policy speaks to. */
  private readonly scopes = new Map<string, Set<OrderCertainty>>();

  constructor(readonly catalog: PolicyCatalog) {
    this.payers = new PayerRegistry(catalog.payers, catalog.codeSystems, catalog.docs.codeSystems.systems);
    this.matchers = [...catalog.services.values()].map((s) => new ServiceMatcher(s, catalog.codeSystems));
    for (const policy of catalog.policies) {
      const set = this.scopes.get(policy.service) ?? new Set<OrderCertainty>();
      for (const c of policy.scope) set.add(c);
      this.scopes.set(policy.service, set);
    }
  }

  /** The first service match of an order that any policy could speak to; undefined is DECISIONS X1. */
  inScope(order: OrderUnderReview): OrderMatch | undefined {
    const view = orderView(order.resource);
    for (const matcher of this.matchers) {
      const match = matcher.match(view);
      if (match && this.scopes.get(match.service)?.has(match.certainty)) return match;
    }
    return undefined;
  }
}
