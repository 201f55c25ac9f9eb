import { coverageAnnotations } from './coverage-information.js';

const CI = 'http://hl7.org/fhir/us/davinci-crd/StructureDefinition/ext-coverage-information';

function update(extension: unknown[], resource: Record<string, unknown> = {}): unknown {
  return {
    type: 'update',
    description: 'coverage information',
    resource: { resourceType: 'ServiceRequest', id: 'sr-1', code: { text: 'Dry needling, 1-2 muscles' }, extension, ...resource },
  };
}

test('a conditional repetition in words: every part the CRD extension carries, most important first', () => {
  const response = {
    cards: [],
    systemActions: [
      update([
        { url: 'http://example.org/other-extension', valueString: 'ignored' },
        {
          url: CI,
          extension: [
            { url: 'coverage', valueReference: { reference: 'Coverage/cov-1' } },
            { url: 'covered', valueCode: 'conditional' },
            { url: 'pa-needed', valueCode: 'conditional' },
            { url: 'doc-needed', valueCode: 'clinical' },
            { url: 'info-needed', valueCode: 'location' },
            { url: 'info-needed', valueCode: 'detail-code' },
            { url: 'billingCode', valueCoding: { system: 'http://www.ama-assn.org/go/cpt', code: '20560' } },
            { url: 'reason', valueCodeableConcept: { text: 'Not covered outpatient; precertification inpatient.' } },
            {
              url: 'detail',
              extension: [
                { url: 'category', valueCode: 'cat-other' },
                { url: 'code', valueCodeableConcept: { coding: [{ code: 'policy-link', display: 'Policy link' }] } },
                { url: 'value', valueUrl: 'https://example.org/policy' },
              ],
            },
            { url: 'date', valueDate: '2026-11-23' },
            { url: 'coverage-assertion-id', valueString: 'abc-123' },
          ],
        },
      ]),
    ],
  };
  expect(coverageAnnotations(response)).toEqual([
    {
      order: 'ServiceRequest/sr-1',
      orderText: 'Dry needling, 1-2 muscles',
      coverages: [
        {
          coverage: 'Coverage/cov-1',
          covered: 'conditional',
          paNeeded: 'conditional',
          docNeeded: ['clinical'],
          infoNeeded: ['location', 'detail-code'],
          billingCodes: ['20560'],
          reasons: ['Not covered outpatient; precertification inpatient.'],
          details: ['Policy link: https://example.org/policy'],
          date: '2026-11-23',
          assertionId: 'abc-123',
          sentences: [
            'Conditional: coverage depends on conditions (see the reason).',
            'Prior authorization may be needed, depending on more information.',
            'Documentation needed: clinical documentation.',
            'Still needed for a decision: where the service will be performed (the care setting); a more specific code for the service.',
            'Reason: Not covered outpatient; precertification inpatient.',
            'Billing code: 20560.',
            'Detail: Policy link: https://example.org/policy',
            '(for Coverage/cov-1, asserted 2026-11-23, assertion id abc-123)',
          ],
        },
      ],
    },
  ]);
});

test('not-covered without pa-needed says prior authorization does not apply; coded reasons are named', () => {
  const [order] = coverageAnnotations({
    systemActions: [
      update([
        {
          url: CI,
          extension: [
            { url: 'covered', valueCode: 'not-covered' },
            { url: 'reason', valueCodeableConcept: { coding: [{ code: 'no-active-coverage', display: 'No active coverage' }] } },
          ],
        },
      ]),
    ],
  });
  expect(order?.coverages[0]?.sentences).toEqual(['Not covered.', 'Prior authorization does not apply.', 'Reason: No active coverage']);
});

test('one annotation per repetition, several Coverages on one order; unknown codes are quoted, not dropped', () => {
  const [order] = coverageAnnotations({
    systemActions: [
      update([
        { url: CI, extension: [{ url: 'coverage', valueReference: { reference: 'Coverage/a' } }, { url: 'covered', valueCode: 'covered' }, { url: 'pa-needed', valueCode: 'no-auth' }] },
        { url: CI, extension: [{ url: 'coverage', valueReference: { reference: 'Coverage/b' } }, { url: 'covered', valueCode: 'maybe' }] },
      ]),
    ],
  });
  expect(order?.coverages.map((c) => c.sentences[0])).toEqual(['Covered: regular coverage applies.', '"maybe".']);
  expect(order?.coverages[0]?.sentences[1]).toBe('No prior authorization needed.');
});

test('answers without coverage information, or not shaped like CDS Hooks, give no annotation and never throw', () => {
  expect(coverageAnnotations({ cards: [], systemActions: [] })).toEqual([]);
  expect(coverageAnnotations({ cards: [] })).toEqual([]);
  expect(coverageAnnotations(null)).toEqual([]);
  expect(coverageAnnotations('text')).toEqual([]);
  expect(coverageAnnotations({ systemActions: [null, 3, { type: 'update' }, update([{ url: 'http://example.org/x' }])] })).toEqual([]);
  const [order] = coverageAnnotations({ systemActions: [update([{ url: CI }])] });
  expect(order?.coverages[0]?.sentences).toEqual(['No coverage determination (the required "covered" part is missing).']);
});
