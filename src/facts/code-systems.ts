import type { CodeSystemsDoc } from '../policy/types.js';

/**
 * The key two spellings of one system share: case, the http/https scheme, a leading "www." and a
 * trailing "/" do not matter (real EHRs send all of these variants; anchors §8 complaint 3).
 */
function systemKey(system: string): string {
  return system
    .trim()
    .toLowerCase()
    .replace(/^https?:\/\//, '')
    .replace(/^www\./, '')
    .replace(/\/+$/, '');
}

const SEEN_LIMIT = 1000;

/** Normalises code-system URIs (OIDs, sloppy URLs, bare names) to one canonical URI, from data. */
export class CodeSystemAliases {
  private readonly canonicalByKey = new Map<string, string>();
  private readonly names = new Map<string, string>();
  /** Systems as clients spell them → canonical: a few spellings recur in every call. Bounded, as clients choose them. */
  private readonly seen = new Map<string, string>();

  constructor(doc: CodeSystemsDoc) {
    for (const entry of doc.systems) {
      this.names.set(entry.canonical, entry.name);
      this.canonicalByKey.set(systemKey(entry.canonical), entry.canonical);
      for (const alias of entry.aliases) this.canonicalByKey.set(systemKey(alias), entry.canonical);
    }
  }

  /** The canonical URI for a system, or the system itself (trimmed) when it is not in the table. */
  canonical(system: unknown): string | undefined {
    // Client data is untrusted JSON: a system that is not a string is no system.
    if (typeof system !== 'string') return undefined;
    let canonical = this.seen.get(system);
    if (canonical === undefined) {
      canonical = this.canonicalByKey.get(systemKey(system)) ?? system.trim();
      if (this.seen.size >= SEEN_LIMIT) this.seen.clear();
      this.seen.set(system, canonical);
    }
    return canonical;
  }

  /** A short name for a system ("CPT"), or the system itself. */
  nameOf(system: unknown): string {
    const canonical = this.canonical(system);
    return (canonical && this.names.get(canonical)) ?? canonical ?? 'code';
  }
}
