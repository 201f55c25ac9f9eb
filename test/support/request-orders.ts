/**
 * The request's orders for the conformance checker (./conformance.ts): which orders a CDS Hooks request
 * carries (context or prefetch), which it names in context (for davinci-crd.associated-resource), and
 * Rule 5: a coverage-information update is the request's order, unchanged but for coverage-information.
 */
import { CI_URL } from './crd-specs.js';
import { arr, at, isObj, isStr, objs, show, type Json, type Sink } from './conformance-json.js';

/** What rule 5 needs from the checker's state. */
export interface OrderEnv {
  out: Sink;
  hook: string;
  request?: Json;
  orders: Map<string, Json>; // Type/id -> resource found in context or prefetch
}

function bundleResources(b: unknown): Json[] {
  if (!isObj(b)) return [];
  if (b.resourceType !== 'Bundle') return [b];
  return objs(b.entry).map((e) => e.resource).filter(isObj);
}

/** Which orders the request carries (for rule 5) and which it names in context (associated-resource). */
export function indexRequest(request: Json | undefined): { orders: Map<string, Json>; refs?: Set<string> } {
  const orders = new Map<string, Json>();
  if (!request) return { orders };
  const context = isObj(request.context) ? request.context : {};
  const refs = new Set<string>();
  const add = (r: Json, fromContext: boolean) => {
    if (!isStr(r.resourceType) || !isStr(r.id)) return;
    const key = `${r.resourceType}/${r.id}`;
    if (fromContext) refs.add(key);
    if (!orders.has(key)) orders.set(key, r);
  };
  for (const r of [...bundleResources(context.draftOrders), ...bundleResources(context.appointments)]) add(r, true);
  // order-dispatch 1.1 dispatchedOrders; the older dispatched-orders (2023) and 1.0 `order` keys are tolerated too
  for (const ref of [...arr(context.dispatchedOrders), ...arr(context['dispatched-orders']), context.order]) {
    if (typeof ref === 'string') refs.add(ref);
  }
  for (const value of Object.values(isObj(request.prefetch) ? request.prefetch : {})) {
    for (const r of bundleResources(value)) add(r, false);
  }
  return { orders, refs };
}

function stripCoverageInfo(r: Json): Json {
  const copy: Json = { ...r };
  const kept = arr(r.extension).filter((e) => !(isObj(e) && e.url === CI_URL));
  if (kept.length) copy.extension = kept;
  else delete copy.extension;
  return copy;
}

function diffJson(a: unknown, b: unknown, p: string, found: [string, string][]): void {
  if (found.length >= 10) return;
  if (Array.isArray(a) && Array.isArray(b) && a.length === b.length) a.forEach((x, i) => diffJson(x, b[i], at(p, i), found));
  else if (isObj(a) && isObj(b)) for (const k of new Set([...Object.keys(a), ...Object.keys(b)])) diffJson(a[k], b[k], at(p, k), found);
  else if (JSON.stringify(a) !== JSON.stringify(b)) found.push([p, `was ${show(a)} in the request, now ${show(b)}`]);
}

/** Rule 5: the update is the request's order, unchanged but for coverage-information (CRD 2.2 SHALL). */
export function checkUnchanged(res: Json, key: string, rp: string, env: OrderEnv): void {
  if (!env.request) return;
  const original = env.orders.get(key);
  if (!original) {
    if (env.hook === 'order-sign' || env.hook === 'order-select')
      env.out(rp, `${key} is not an order in the request`, 'CRD hooks: coverage information updates a context order');
    return;
  }
  const found: [string, string][] = [];
  diffJson(stripCoverageInfo(original), stripCoverageInfo(res), rp, found);
  for (const [where, msg] of found) env.out(where, msg, 'CRD 2.2: nothing but coverage-information may change in the update');
}
