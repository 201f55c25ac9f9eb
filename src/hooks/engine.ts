import { codingKey, ServiceMatcher, type OrderMatch } from '../facts/order-match.js';
import { orderView } from '../facts/order-view.js';
import { PayerRegistry } from '../facts/payer.js';
import type { PolicyCatalog } from '../policy/catalog.js';
import type { OrderCertainty } from '../policy/types.js';
import type { OrderUnderReview } from './orders.js';

/**
 * The policy data turned into matchers and lookups once at start-up, shared by every hook call.
 * Finding an order's service is a lookup by code, not a scan of every service: a service can
 * match an order only through one of its codes, or by description when the order carries no code
 * of the service's billing systems (DECISIONS §1). So the matchers tried are those the order's
 * codes name, plus those whose billing systems the order does not use at all (for an order coded
 * in CPT: the services without a CPT code, usually none), in catalog order as before.
 */
export class DecisionEngine {
  readonly payers: PayerRegistry;
  private readonly matchers: ServiceMatcher[];
  /** For each service, the match certainties some policy speaks to. */
  private readonly scopes = new Map<string, Set<OrderCertainty>>();
  /** Coding key → positions (in `matchers`) of the services that list that code. */
  private readonly byCode = new Map<string, number[]>();
  /** The services grouped by their billing systems (most share one: CPT), for the description path. */
  private readonly byBillingSystems: Array<{ systems: string[]; members: number[] }> = [];

  constructor(readonly catalog: PolicyCatalog) {
    this.payers = new PayerRegistry(catalog.payers, catalog.codeSystems, catalog.docs.codeSystems.systems);
    this.matchers = [...catalog.services.values()].map((s) => new ServiceMatcher(s, catalog.codeSystems));
    const groups = new Map<string, { systems: string[]; members: number[] }>();
    this.matchers.forEach((matcher, i) => {
      for (const key of matcher.codeKeys) this.byCode.set(key, [...(this.byCode.get(key) ?? []), i]);
      const systems = [...matcher.billingSystems].sort();
      const group = groups.get(systems.join(' ')) ?? { systems, members: [] };
      group.members.push(i);
      groups.set(systems.join(' '), group);
    });
    this.byBillingSystems.push(...groups.values());
    for (const policy of catalog.policies) {
      const set = this.scopes.get(policy.service) ?? new Set<OrderCertainty>();
      for (const c of policy.scope) set.add(c);
      this.scopes.set(policy.service, set);
    }
  }

  /** The first service match of an order that any policy could speak to; undefined is DECISIONS X1. */
  inScope(order: OrderUnderReview): OrderMatch | undefined {
    const view = orderView(order.resource);
    const codings = [...view.codings, ...view.billingOptions];
    const systems = new Set(codings.map((c) => this.catalog.codeSystems.canonical(c.system)));
    const candidates = new Set<number>();
    for (const coding of codings) for (const i of this.byCode.get(codingKey(this.catalog.codeSystems, coding)) ?? []) candidates.add(i);
    for (const group of this.byBillingSystems) {
      if (!group.systems.some((s) => systems.has(s))) for (const i of group.members) candidates.add(i);
    }
    for (const i of [...candidates].sort((a, b) => a - b)) {
      const match = this.matchers[i]!.match(view);
      if (match && this.scopes.get(match.service)?.has(match.certainty)) return match;
    }
    return undefined;
  }
}
