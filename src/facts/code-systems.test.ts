import { join } from 'node:path';
import { projectRoot } from '../config.js';
import { loadPolicyCatalog } from '../policy/load.js';
import { CodeSystemAliases } from './code-systems.js';

const CPT = 'http://www.ama-assn.org/go/cpt';
const HCPCS = 'https://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets';

const systems: CodeSystemAliases = loadPolicyCatalog(join(projectRoot, 'policies')).codeSystems;

describe('code-system aliases are normalised in one place, from policies/code-systems.json', () => {
  test.each([
    ['the canonical URL itself', 'http://www.ama-assn.org/go/cpt'],
    ['the OID', 'urn:oid:2.16.840.1.113883.6.12'],
    ['https, a trailing slash', 'https://www.ama-assn.org/go/cpt/'],
    ['upper-case scheme and host', 'HTTP://WWW.AMA-ASSN.ORG/go/cpt'],
    ['no "www."', 'http://ama-assn.org/go/cpt'],
    ['the bare name', 'CPT'],
    ['the bare name in lower case', 'cpt'],
    ['the HL7 sid form', 'http://hl7.org/fhir/sid/cpt'],
    ['surrounding whitespace', '  http://www.ama-assn.org/go/cpt  '],
  ])('CPT: %s (%j) is canonical CPT', (_label, system) => {
    expect(systems.canonical(system)).toBe(CPT);
  });

  test.each([
    ['the Blue Button URL', 'https://bluebutton.cms.gov/resources/codesystem/hcpcs'],
    ['the OID', 'urn:oid:2.16.840.1.113883.6.285'],
    ['the bare name', 'HCPCS'],
    ['the canonical URL over http', 'http://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets'],
  ])('HCPCS: %s (%j) is canonical HCPCS', (_label, system) => {
    expect(systems.canonical(system)).toBe(HCPCS);
  });

  test.each([
    ['urn:oid:2.16.840.1.113883.6.96', 'http://snomed.info/sct'],
    ['SOPT', 'https://nahdo.org/sopt'],
    ['urn:oid:2.16.840.1.113883.3.221.5', 'https://nahdo.org/sopt'],
    ['urn:oid:2.16.840.1.113883.5.4', 'http://terminology.hl7.org/CodeSystem/v3-ActCode'],
    ['POS', 'https://www.cms.gov/Medicare/Coding/place-of-service-codes/Place_of_Service_Code_Set'],
    ['NAIC', 'urn:oid:2.16.840.1.113883.6.300'],
  ])('other systems: %j is %j', (system, canonical) => {
    expect(systems.canonical(system)).toBe(canonical);
  });

  test('an unknown system is returned as written, trimmed', () => {
    expect(systems.canonical('  http://example.org/fhir/CodeSystem/pt-procedures ')).toBe(
      'http://example.org/fhir/CodeSystem/pt-procedures',
    );
  });

  test('an unknown system keeps its case (only known systems are normalised)', () => {
    expect(systems.canonical('HTTP://Example.org/Codes')).toBe('HTTP://Example.org/Codes');
  });

  test('an absent system stays absent', () => {
    expect(systems.canonical(undefined)).toBeUndefined();
  });

  test('a near-miss of the CPT URL is not CPT', () => {
    expect(systems.canonical('http://www.ama-assn.org/go/cpt-5')).not.toBe(CPT);
    expect(systems.canonical('http://www.ama-assn.org/go')).not.toBe(CPT);
  });

  test('a table built from data alone: a new alias needs no code change', () => {
    const custom = new CodeSystemAliases({
      systems: [{ canonical: 'http://example.org/canon', name: 'Example', aliases: ['urn:oid:1.2.3', 'EX'] }],
    });
    expect(custom.canonical('urn:oid:1.2.3')).toBe('http://example.org/canon');
    expect(custom.canonical('ex')).toBe('http://example.org/canon');
    expect(custom.canonical('https://example.org/canon/')).toBe('http://example.org/canon');
    expect(custom.canonical('CPT')).toBe('CPT');
  });
});
