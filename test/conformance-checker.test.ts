/**
 * Proves the conformance checker (test/support/conformance.ts) can fail: one known-good order-sign
 * exchange yields no problems, and each named case breaks exactly one rule and must be reported at
 * the JSON path it breaks.
 */
import { conformanceProblems, crdReferenceDir, expectConformant, type ConformanceContext } from './support/conformance.js';
import { fhirSchemaProblems } from './support/fhir-schema.js';

// Fixtures are plain JSON mutated freely by the cases below, hence the loose type.
type Json = Record<string, any>;

const CI_URL = 'http://hl7.org/fhir/us/davinci-crd/StructureDefinition/ext-coverage-information';
const CPT = 'http://www.ama-assn.org/go/cpt';
const TEMP = 'http://hl7.org/fhir/us/davinci-crd/CodeSystem/temp';

const serviceRequest: Json = {
  resourceType: 'ServiceRequest',
  id: 'sr-dn-1',
  status: 'draft',
  intent: 'order',
  code: { coding: [{ system: CPT, code: '20560', display: 'Needle insertion(s) without injection(s); 1 or 2 muscle(s)' }] },
  subject: { reference: 'Patient/pat-1' },
  authoredOn: '2025-10-01',
  requester: { reference: 'Practitioner/pr-1' },
};

const baseRequest: Json = {
  hook: 'order-sign',
  hookInstance: 'd1577c69-dfbe-44ad-ba6d-3e05e953b2ea',
  fhirServer: 'https://ehr.example.org/fhir',
  context: {
    userId: 'Practitioner/pr-1',
    patientId: 'pat-1',
    draftOrders: { resourceType: 'Bundle', type: 'collection', entry: [{ resource: serviceRequest }] },
  },
  prefetch: {
    coverage: {
      resourceType: 'Bundle',
      type: 'searchset',
      entry: [{ resource: { resourceType: 'Coverage', id: 'cov-1', status: 'active', beneficiary: { reference: 'Patient/pat-1' }, payor: [{ display: 'Medica Central' }] } }],
    },
  },
};

const baseResponse: Json = {
  cards: [
    {
      uuid: '5b6c0f3e-4a51-4d8e-9a55-0f1f3cf0b7a1',
      summary: 'Dry needling (CPT 20560) is not covered by Medica Central',
      detail: 'Medica Central policy MP9672 considers dry needling investigative. Prior authorization does not apply.',
      indicator: 'warning',
      source: {
        label: 'Medica Central',
        url: 'https://www.medica.com/',
        topic: { system: TEMP, code: 'coverage-info', display: 'Coverage Information' },
      },
      extension: { 'davinci-crd.associated-resource': ['ServiceRequest/sr-dn-1'] },
    },
  ],
  systemActions: [
    {
      type: 'update',
      description: 'Record Medica Central coverage information on the dry-needling order',
      resource: {
        ...serviceRequest,
        extension: [
          {
            url: CI_URL,
            extension: [
              { url: 'coverage', valueReference: { reference: 'Coverage/cov-1' } },
              { url: 'covered', valueCode: 'not-covered' },
              { url: 'date', valueDate: '2025-10-01' },
              { url: 'coverage-assertion-id', valueString: 'mc-0001' },
              { url: 'billingCode', valueCoding: { system: CPT, code: '20560' } },
            ],
          },
        ],
      },
    },
  ],
};

interface Fixture { request: Json; response: Json }
const fresh = (): Fixture => structuredClone({ request: baseRequest, response: baseResponse });
const ctxOf = (f: Fixture, extra: Partial<ConformanceContext> = {}): ConformanceContext => ({ hook: f.request.hook, request: f.request, ...extra });

// Helpers on the first card, the first systemAction and its coverage-information repetition
const card0 = (f: Fixture): Json => f.response.cards[0];
const update0 = (f: Fixture): Json => f.response.systemActions[0];
const subs = (f: Fixture): Json[] => update0(f).resource.extension[0].extension;
const setSub = (f: Fixture, url: string, value: Json): void => {
  const list = subs(f);
  const i = list.findIndex((s) => s.url === url);
  if (i >= 0) list[i] = { url, ...value };
  else list.push({ url, ...value });
};
const dropSub = (f: Fixture, url: string): void => {
  const list = subs(f);
  list.splice(0, list.length, ...list.filter((s) => s.url !== url));
};
/** Changes the order in both the request and the update, so only the rule under test is broken. */
const editOrder = (f: Fixture, edit: (r: Json) => void): void => {
  edit(f.request.context.draftOrders.entry[0].resource);
  edit(update0(f).resource);
};

function problemsAfter(mutate: (f: Fixture) => void, extra: Partial<ConformanceContext> = {}): string[] {
  const f = fresh();
  mutate(f);
  return conformanceProblems(f.response, ctxOf(f, extra));
}

describe('conformance checker', () => {
  test('the known-good order-sign response has no problems', () => {
    const f = fresh();
    expect(conformanceProblems(f.response, ctxOf(f))).toEqual([]);
    expect(() => expectConformant(f.response, ctxOf(f))).not.toThrow();
    expect(conformanceProblems(f.response, { hook: 'order-sign' })).toEqual([]); // without the request, too
  });

  test('its CRD 2.2 forms are clean under 2.2.1 (THO topic, associated-resource objects, detail with category)', () => {
    const problems = problemsAfter((f) => {
      card0(f).source.topic.system = 'http://terminology.hl7.org/CodeSystem/cdshooks-card-type';
      card0(f).extension['davinci-crd.associated-resource'] = [{ reference: 'ServiceRequest/sr-dn-1' }];
      setSub(f, 'detail', { extension: [
        { url: 'category', valueCode: 'cat-other' },
        { url: 'code', valueCodeableConcept: { coding: [{ system: TEMP, code: 'policy-link' }] } },
        { url: 'value', valueUrl: 'https://www.medica.com/policies/MP9672' },
      ] });
    }, { versions: ['2.2.1'] });
    expect(problems).toEqual([]);
  });

  const longSummary = 'x'.repeat(140);
  const cases: [string, (f: Fixture) => void, RegExp, Partial<ConformanceContext>?][] = [
    // 1. CDS Hooks response shape and JSON conventions
    ['systemActions missing for order-sign', (f) => { delete f.response.systemActions; },
      /^\$\.systemActions: systemActions must be present .*order-sign/],
    ['an empty string', (f) => { card0(f).detail = ''; }, /^\$\.cards\[0\]\.detail: empty string is not allowed/],
    ['an empty links array', (f) => { card0(f).links = []; }, /^\$\.cards\[0\]\.links: empty array is not allowed/],
    ['a null value', (f) => { card0(f).source.icon = null; }, /^\$\.cards\[0\]\.source\.icon: null is not allowed/],
    // 2. cards
    ['a summary of 140 characters', (f) => { card0(f).summary = longSummary; },
      /^\$\.cards\[0\]\.summary: summary must be shorter than 140 characters \(has 140\)/],
    ['a missing topic', (f) => { delete card0(f).source.topic; }, /^\$\.cards\[0\]\.source\.topic: topic is required/],
    ['a topic that is not a CRD card type', (f) => { card0(f).source.topic.code = 'prior-auth'; },
      /^\$\.cards\[0\]\.source\.topic\.code: 'prior-auth' is not a CRD card type \[CRD 2\.0\.1, 2\.2\.1/],
    ['a missing card uuid', (f) => { delete card0(f).uuid; }, /^\$\.cards\[0\]\.uuid: uuid is required/],
    ['a duplicated card uuid', (f) => { f.response.cards.push(structuredClone(card0(f))); },
      /^\$\.cards\[1\]\.uuid: card uuid '5b6c0f3e-.*' is already used at \$\.cards\[0\]\.uuid/],
    ['an unknown indicator', (f) => { card0(f).indicator = 'hard-stop'; }, /^\$\.cards\[0\]\.indicator: indicator must be info\|warning\|critical/],
    ['a relative link url', (f) => { card0(f).links = [{ label: 'Policy', url: '/policies/MP9672', type: 'absolute' }]; },
      /^\$\.cards\[0\]\.links\[0\]\.url: url must be an absolute http\(s\) URL/],
    ['appContext on an absolute link', (f) => { card0(f).links = [{ label: 'Policy', url: 'https://p.example.org/', type: 'absolute', appContext: 'x' }]; },
      /^\$\.cards\[0\]\.links\[0\]\.appContext: appContext is only allowed/],
    ['an overrideReason without display', (f) => { card0(f).overrideReasons = [{ code: 'documented', system: 'https://payer.example.org/override' }]; },
      /^\$\.cards\[0\]\.overrideReasons\[0\]\.display: display is required/],
    ['a suggestion without uuid', (f) => { card0(f).selectionBehavior = 'at-most-one'; card0(f).suggestions = [{ label: 'Cancel the order' }]; },
      /^\$\.cards\[0\]\.suggestions\[0\]\.uuid: uuid is required .*Suggestion\.uuid SHALL/],
    ['suggestions without selectionBehavior', (f) => { card0(f).suggestions = [{ label: 'Cancel the order', uuid: 'a8b4d6f0-1' }]; },
      /^\$\.cards\[0\]\.selectionBehavior: selectionBehavior must be at-most-one\|any/],
    ['associated-resource naming an order not in the request', (f) => { card0(f).extension['davinci-crd.associated-resource'] = ['ServiceRequest/other']; },
      /^\$\.cards\[0\]\.extension\['davinci-crd\.associated-resource'\]\[0\]: ServiceRequest\/other is not an order in the request context/],
    // 3. actions
    ['a missing description on an action', (f) => { delete update0(f).description; },
      /^\$\.systemActions\[0\]\.description: description is required .*Action\.description REQUIRED/],
    ['a delete without resourceId', (f) => {
      card0(f).selectionBehavior = 'at-most-one';
      card0(f).suggestions = [{ label: 'Cancel the order', uuid: 'a8b4d6f0-1', actions: [{ type: 'delete', description: 'Remove the order' }] }];
    }, /^\$\.cards\[0\]\.suggestions\[0\]\.actions\[0\]\.resourceId: resourceId must be a relative reference/],
    // 4. coverage information
    ['pa-needed present with not-covered (2.2.1 crd-ci-q2)', (f) => { setSub(f, 'pa-needed', { valueCode: 'no-auth' }); },
      /extension\[0\]: pa-needed must be absent when covered is not-covered \[CRD 2\.2\.1 crd-ci-q2\]/],
    ['pa-needed absent with conditional (2.0.1 crd-ci-q2)', (f) => {
      setSub(f, 'covered', { valueCode: 'conditional' });
      setSub(f, 'info-needed', { valueCode: 'location' });
    }, /extension\[0\]: pa-needed is required when covered is conditional \[CRD 2\.0\.1 crd-ci-q2\]/],
    ['conditional without info-needed (2.2.1 crd-ci-q3)', (f) => {
      setSub(f, 'covered', { valueCode: 'conditional' });
      setSub(f, 'pa-needed', { valueCode: 'conditional' });
    }, /extension\[0\]: info-needed is required .* \[CRD 2\.2\.1 crd-ci-q3\]/],
    ['info-needed OTH without reason (2.2.1 crd-ci-q6)', (f) => {
      setSub(f, 'covered', { valueCode: 'conditional' });
      setSub(f, 'pa-needed', { valueCode: 'conditional' });
      setSub(f, 'info-needed', { valueCode: 'OTH' });
    }, /extension\[0\]: reason is required when info-needed is OTH \[CRD 2\.2\.1 crd-ci-q6\]/],
    ['indeterminate under the default versions (not a 2.0.1 code)', (f) => {
      setSub(f, 'covered', { valueCode: 'indeterminate' });
      setSub(f, 'reason', { valueCodeableConcept: { coding: [{ system: TEMP, code: 'technical' }], text: 'Payer system unavailable' } });
    }, /extension\[1\]\.valueCode: 'indeterminate' is not in the required value set .*\[CRD 2\.0\.1 covered required binding\]/],
    ['detail without category under 2.2.1', (f) => {
      setSub(f, 'detail', { extension: [
        { url: 'code', valueCodeableConcept: { coding: [{ system: TEMP, code: 'concurrent-review' }] } },
        { url: 'value', valueBoolean: true },
      ] });
    }, /extension\[5\]: detail has category 0 time\(s\), allowed 1\.\.1 \[CRD 2\.2\.1 ext-coverage-information cardinality\]/, { versions: ['2.2.1'] }],
    ['detail with category under 2.0.1', (f) => {
      setSub(f, 'detail', { extension: [
        { url: 'category', valueCode: 'cat-decisional' },
        { url: 'code', valueCodeableConcept: { coding: [{ system: TEMP, code: 'concurrent-review' }] } },
        { url: 'value', valueBoolean: true },
      ] });
    }, /extension\[5\]\.extension\[0\]\.url: 'category' is not a sub-extension of detail \[CRD 2\.0\.1 /],
    ['a malformed date', (f) => { setSub(f, 'date', { valueDate: '2025-02-30' }); }, /extension\[2\]\.valueDate: invalid valueDate "2025-02-30"/],
    ['a missing coverage-assertion-id', (f) => { dropSub(f, 'coverage-assertion-id'); },
      /extension\[0\]: coverage-information has coverage-assertion-id 0 time\(s\), allowed 1\.\.1 \[CRD 2\.0\.1, 2\.2\.1 /],
    ['two coverages sharing an assertion id', (f) => {
      const second = structuredClone(update0(f).resource.extension[0]);
      second.extension[0].valueReference.reference = 'Coverage/cov-2';
      update0(f).resource.extension.push(second);
    }, /^\$\.systemActions: coverage-assertion-id 'mc-0001' is used for different coverages \(Coverage\/cov-1, Coverage\/cov-2\)/],
    ['coverage information on a create systemAction', (f) => { update0(f).type = 'create'; },
      /^\$\.systemActions\[0\]\.type: a systemAction carrying coverage-information must be type update/],
    // 5. the update is the order, unchanged but for coverage information
    ['the updated resource changing status', (f) => { update0(f).resource.status = 'active'; },
      /^\$\.systemActions\[0\]\.resource\.status: was "draft" in the request, now "active"/],
    ['an update of an order that is not in the order-sign request', (f) => { update0(f).resource.id = 'sr-unknown'; },
      /^\$\.systemActions\[0\]\.resource: ServiceRequest\/sr-unknown is not an order in the request/],
    // 6. FHIR R4 JSON schema (the order is edited in the request too, so it is still "unchanged")
    ['a resource with an unknown element', (f) => editOrder(f, (r) => { r.foo = 'bar'; }),
      /^\$\.systemActions\[0\]\.resource\.foo: unknown element 'foo' .*\[FHIR R4 JSON schema\]/],
    ['a code with a trailing space', (f) => editOrder(f, (r) => { r.code.coding[0].code = '20560 '; }),
      /^\$\.systemActions\[0\]\.resource\.code\.coding\[0\]\.code: must match pattern .*\[FHIR R4 JSON schema\]/],
  ];

  // rows are padded to four arguments: test.each treats a callback with more parameters than the row as `done`-style
  test.each(cases.map(([name, mutate, expected, extra]) => [name, mutate, expected, extra ?? {}] as const))('reports %s', (_name, mutate, expected, extra) => {
    const problems = problemsAfter(mutate, extra);
    expect(problems).toEqual(expect.arrayContaining([expect.stringMatching(expected)]));
    // each case breaks one thing, so the checker should not spray unrelated problems
    expect(problems.length).toBeLessThanOrEqual(2);
  });

  test('indeterminate with a reason is fine when only CRD 2.2.1 applies (requestedVersion 2.2)', () => {
    const problems = problemsAfter((f) => {
      f.request.extension = { 'davinci-crd.requestedVersion': '2.2' };
      setSub(f, 'covered', { valueCode: 'indeterminate' });
      setSub(f, 'reason', { valueCodeableConcept: { coding: [{ system: TEMP, code: 'technical' }], text: 'Payer system unavailable' } });
    });
    expect(problems).toEqual([]);
  });

  test('an update of an order not in the request is fine for order-dispatch (read from the FHIR server)', () => {
    const problems = problemsAfter((f) => {
      f.request.hook = 'order-dispatch';
      f.request.context = { patientId: 'pat-1', dispatchedOrders: ['ServiceRequest/sr-dn-1'], performer: 'Organization/org-1' };
    });
    expect(problems).toEqual([]);
  });

  test('expectConformant lists every problem', () => {
    const f = fresh();
    card0(f).summary = longSummary;
    delete update0(f).description;
    expect(() => expectConformant(f.response, ctxOf(f))).toThrow(/2 problems[\s\S]*\$\.cards\[0\]\.summary[\s\S]*\$\.systemActions\[0\]\.description/);
  });

  test('a missing CRD reference folder is an error that says where it looked', () => {
    const saved = process.env.CRD_REFERENCE_DIR;
    process.env.CRD_REFERENCE_DIR = '/nonexistent/davinci-crd-2.0.1';
    try {
      expect(() => crdReferenceDir()).toThrow(/\/nonexistent\/davinci-crd-2\.0\.1/);
    } finally {
      if (saved === undefined) delete process.env.CRD_REFERENCE_DIR;
      else process.env.CRD_REFERENCE_DIR = saved;
    }
  });

  test('fhirSchemaProblems accepts a valid ServiceRequest and names the failing element otherwise', () => {
    expect(fhirSchemaProblems(serviceRequest)).toEqual([]);
    expect(fhirSchemaProblems({ ...serviceRequest, status: 7 })).toEqual(expect.arrayContaining([expect.stringMatching(/^\/status: /)]));
    expect(fhirSchemaProblems({ resourceType: 'NotAResource' })).toEqual([expect.stringMatching(/not an R4 resource type/)]);
  });
});
