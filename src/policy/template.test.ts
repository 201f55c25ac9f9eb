import { renderTemplate, type TemplateValues } from './template.js';

const values: TemplateValues = {
  payerName: 'Blue Cross Blue Shield of Massachusetts',
  payerShortName: 'BCBS MA',
  policyNumber: 'MP9672',
  policyTitle: 'Trigger Point Dry Needling',
  policyVersion: 'version effective 09/01/2025',
  productLine: 'commercial',
  careSetting: 'inpatient',
  dateOfService: '2026-12-01',
};

describe('policy texts with placeholders', () => {
  test.each([
    ['no placeholder at all', 'no placeholder at all'],
    ['{payerName}', 'Blue Cross Blue Shield of Massachusetts'],
    ['{payerShortName}: {policyNumber} ({policyNumber})', 'BCBS MA: MP9672 (MP9672)'],
    ['{careSetting}{dateOfService}', 'inpatient2026-12-01'],
    ['kept as written: {unknown} and {payer name} and {}', 'kept as written: {unknown} and {payer name} and {}'],
    ['', ''],
  ])('%j', (text, expected) => {
    expect(renderTemplate(text, values)).toBe(expected);
    // Rendering the same text again (from its cached parts) with other values uses the new values.
    expect(renderTemplate(text, { ...values, policyNumber: 'X' })).toBe(expected.replaceAll('MP9672', 'X'));
  });
});
