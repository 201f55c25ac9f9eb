/** The placeholders policy texts may use (documented in policies/schemas/coverage-policy.schema.json). */
export const PLACEHOLDERS = [
  'payerName',
  'payerShortName',
  'policyNumber',
  'policyTitle',
  'policyVersion',
  'productLine',
  'careSetting',
  'dateOfService',
] as const;

export type TemplateValues = Record<(typeof PLACEHOLDERS)[number], string>;

const PLACEHOLDER = /\{([A-Za-z]+)\}/g;

/** Names used in a text that are not placeholders. */
export function unknownPlaceholders(text: string): string[] {
  return [...text.matchAll(PLACEHOLDER)]
    .map((m) => m[1]!)
    .filter((name) => !(PLACEHOLDERS as readonly string[]).includes(name));
}

export function renderTemplate(text: string, values: TemplateValues): string {
  return text.replace(PLACEHOLDER, (whole, name: string) =>
    name in values ? values[name as keyof TemplateValues] : whole,
  );
}

/** Compiles a policy-data pattern; patterns are case-insensitive unless marked otherwise. */
export function compilePattern(entry: string | { pattern: string; caseSensitive?: boolean }): RegExp {
  return typeof entry === 'string' ? new RegExp(entry, 'i') : new RegExp(entry.pattern, entry.caseSensitive ? '' : 'i');
}
