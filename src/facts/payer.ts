import type { Coverage, Identifier, Organization, Reference } from 'fhir/r4.js';
import type { PayerEntry } from '../policy/types.js';
import type { CodeSystemAliases } from './code-systems.js';

/** Where the Organization that named the payer came from (cards say how the payer was read). */
export type OrganizationSource = 'contained' | 'request' | 'fhir-server';

export interface ResolvedOrganization { resource: Organization; source: OrganizationSource; reference: string }

export interface PayerMatch {
  payer: PayerEntry;
  matchedBy: 'identifier' | 'name';
  /** Human words for how: "NAIC 53228 on the payor reference", "name \"BCBS MA\" on the payor display", ... */
  evidence: string;
}

/** Names compared without case, punctuation or the word "and" (DECISIONS §2). */
export function normaliseName(name: string): string {
  return name
    .toLowerCase()
    .replace(/&/g, ' ')
    .replace(/[^\p{L}\p{N}\s]/gu, ' ')
    .split(/\s+/)
    .filter((w) => w !== '' && w !== 'and')
    .join(' ');
}

/** Recognises payers by identifier, then by name alias, from payers.json. */
export class PayerRegistry {
  private readonly byIdentifier = new Map<string, PayerEntry>();
  private readonly byName = new Map<string, PayerEntry>();
  private readonly systemNames = new Map<string, string>();
  /** Names as clients write them → the payer they name (or none): the same few recur in every call. Bounded. */
  private readonly seenNames = new Map<string, PayerEntry | undefined>();

  constructor(
    payers: readonly PayerEntry[],
    private readonly systems: CodeSystemAliases,
    systemNames: Array<{ canonical: string; name: string }> = [],
  ) {
    for (const payer of payers) {
      for (const id of payer.identifiers) this.byIdentifier.set(this.identifierKey(id.system, id.value), payer);
      for (const alias of [payer.name, payer.shortName, ...payer.aliases]) this.byName.set(normaliseName(alias), payer);
    }
    for (const s of systemNames) this.systemNames.set(s.canonical, s.name);
  }

  private identifierKey(system: unknown, value: unknown): string {
    return `${this.systems.canonical(system) ?? ''}|${typeof value === 'string' ? value.trim() : ''}`;
  }

  private describeIdentifier(id: Identifier): string {
    const canonical = this.systems.canonical(id.system);
    return `${(canonical && this.systemNames.get(canonical)) ?? canonical ?? 'identifier'} ${id.value}`;
  }

  byIdentifierOf(id: Identifier | undefined): PayerEntry | undefined {
    return id && typeof id === 'object' && typeof id.value === 'string' && id.value !== ''
      ? this.byIdentifier.get(this.identifierKey(id.system, id.value))
      : undefined;
  }

  byNameOf(name: string | undefined): PayerEntry | undefined {
    if (typeof name !== 'string') return undefined;
    if (this.seenNames.has(name)) return this.seenNames.get(name);
    const payer = this.byName.get(normaliseName(name));
    if (this.seenNames.size >= 1000) this.seenNames.clear();
    this.seenNames.set(name, payer);
    return payer;
  }

  /**
   * DECISIONS §2: the payer from Coverage.payor: identifiers first (on the logical reference, then on
   * the resolved Organization), then names (the Organization's name and aliases, then the display).
   */
  identify(coverage: Coverage, organizations: (ref: Reference) => ResolvedOrganization | undefined): PayerMatch | undefined {
    const payors = Array.isArray(coverage.payor) ? coverage.payor.filter((p) => p && typeof p === 'object') : [];
    const resolved = payors.map((ref) => ({ ref, org: organizations(ref) }));
    const where = (org: ResolvedOrganization) =>
      org.source === 'contained'
        ? `the contained Organization ${org.reference}`
        : `${org.reference} ${org.source === 'fhir-server' ? "read from the EHR's FHIR server" : 'sent with the request'}`;
    for (const { ref, org } of resolved) {
      const payer = this.byIdentifierOf(ref.identifier);
      if (payer) return { payer, matchedBy: 'identifier', evidence: `${this.describeIdentifier(ref.identifier!)} on the payor reference` };
      for (const id of Array.isArray(org?.resource.identifier) ? org.resource.identifier : []) {
        const byOrg = this.byIdentifierOf(id);
        if (byOrg) return { payer: byOrg, matchedBy: 'identifier', evidence: `${this.describeIdentifier(id)} on ${where(org!)}` };
      }
    }
    for (const { ref, org } of resolved) {
      const names = org ? [org.resource.name, ...(Array.isArray(org.resource.alias) ? org.resource.alias : [])] : [];
      for (const name of names) {
        const payer = this.byNameOf(name);
        if (payer) return { payer, matchedBy: 'name', evidence: `name "${name}" on ${where(org!)}` };
      }
      const payer = this.byNameOf(ref.display);
      if (payer) return { payer, matchedBy: 'name', evidence: `name "${ref.display}" on the payor reference` };
    }
    return undefined;
  }

  /** Whether the payor reference alone (identifier or display) already names a known payer. */
  knownFromReference(ref: Reference): boolean {
    return this.byIdentifierOf(ref.identifier) !== undefined || this.byNameOf(ref.display) !== undefined;
  }
}
