import { FhirServerAllowlist, parseAllowlist } from './allowlist.js';

describe('FhirServerAllowlist: which FHIR servers the service may call with a client token', () => {
  const list = new FhirServerAllowlist(['https://ehr.example.org/fhir', 'http://hapi:8080/fhir/']);

  test.each([
    ['https://ehr.example.org/fhir', true],
    ['https://ehr.example.org/fhir/', true],
    ['https://ehr.example.org/fhir/r4', true],
    ['https://EHR.example.org:443/fhir', true],
    ['http://hapi:8080/fhir', true],
    ['http://hapi:8080/fhir/tenant-a', true],
  ])('%s is allowed', (url, allowed) => {
    expect(list.allows(url)).toBe(allowed);
  });

  test.each([
    ['http://ehr.example.org/fhir', 'https required unless http is listed'],
    ['https://ehr.example.org/fhir-evil', 'not on a path-segment boundary'],
    ['https://ehr.example.org/', 'above the prefix'],
    ['https://ehr.example.org.evil.net/fhir', 'another host that starts the same'],
    ['https://evil.net/ehr.example.org/fhir', 'the host in the path'],
    ['https://ehr.example.org:8443/fhir', 'another port'],
    ['https://user:pw@ehr.example.org/fhir', 'credentials in the URL'],
    ['https://ehr.example.org/fhir?x=1', 'a query'],
    ['https://hapi:8080/fhir', 'https where only http is listed is another origin'],
    ['ftp://ehr.example.org/fhir', 'not http(s)'],
    ['not a url', 'not a URL'],
    ['https://ehr.example.org/fhir/../admin', 'dot segments resolve above the prefix'],
  ])('%s is refused (%s)', (url) => {
    expect(list.allows(url)).toBe(false);
  });

  test("an issuer's own servers extend the list for that issuer's calls only", () => {
    const issuer = new FhirServerAllowlist(['https://other-ehr.example.com/r4']);
    expect(list.allows('https://other-ehr.example.com/r4')).toBe(false);
    expect(list.allows('https://other-ehr.example.com/r4', issuer)).toBe(true);
  });

  test('an empty list allows nothing', () => {
    expect(new FhirServerAllowlist([]).allows('https://ehr.example.org/fhir')).toBe(false);
  });

  test('a bad prefix is refused when configured', () => {
    expect(() => new FhirServerAllowlist(['ehr.example.org'])).toThrow(/not an http\(s\) base URL/);
    expect(() => new FhirServerAllowlist(['https://u:p@ehr.example.org'])).toThrow();
  });

  test('CDS_FHIR_ALLOWLIST is comma-separated, blanks ignored', () => {
    expect(parseAllowlist(undefined)).toEqual([]);
    expect(parseAllowlist(' https://a.example/fhir ,, http://b:8080/fhir ')).toEqual(['https://a.example/fhir', 'http://b:8080/fhir']);
  });
});
