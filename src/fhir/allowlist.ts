/**
 * Which FHIR servers the service may call with a client's access token (CDS Hooks 2.0 §Security:
 * the service must not be turned into a proxy that sends tokens, or requests, anywhere a request
 * names). A base URL is allowed when it lies under an allowed prefix: same scheme, same host and
 * port, and the prefix's path on a segment boundary (`https://ehr.example.org/fhir` allows
 * `https://ehr.example.org/fhir/r4` but not `https://ehr.example.org/fhir-evil` nor
 * `https://ehr.example.org.evil.net/fhir`). Plain `http` is allowed only where a prefix names
 * `http` explicitly, as a development or in-cluster server does.
 */
export class FhirServerAllowlist {
  private readonly prefixes: URL[];

  constructor(prefixes: readonly string[]) {
    this.prefixes = prefixes.map((prefix) => {
      const url = parseBase(prefix);
      if (!url) throw new Error(`"${prefix}" is not an http(s) base URL without credentials, query or fragment`);
      return url;
    });
  }

  get size(): number {
    return this.prefixes.length;
  }

  /** Whether `baseUrl` is allowed by this list or by `more` (e.g. the calling issuer's own `fhirServers`). */
  allows(baseUrl: string, more?: FhirServerAllowlist): boolean {
    const candidate = parseBase(baseUrl);
    if (!candidate) return false;
    return this.prefixes.some((prefix) => underPrefix(candidate, prefix)) || (more?.allows(baseUrl) ?? false);
  }
}

function parseBase(text: string): URL | undefined {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return undefined;
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return undefined;
  if (url.username || url.password || url.search || url.hash) return undefined;
  return url;
}

function segments(url: URL): string[] {
  return url.pathname.split('/').filter((s) => s !== '');
}

function underPrefix(candidate: URL, prefix: URL): boolean {
  // URL normalises host case, default ports and dot segments, so this compares like with like.
  if (candidate.protocol !== prefix.protocol || candidate.host !== prefix.host) return false;
  const want = segments(prefix);
  const have = segments(candidate);
  return want.length <= have.length && want.every((segment, i) => segment === have[i]);
}

/** `CDS_FHIR_ALLOWLIST`: comma-separated base-URL prefixes. */
export function parseAllowlist(raw: string | undefined): string[] {
  return (raw ?? '').split(',').map((s) => s.trim()).filter((s) => s !== '');
}
