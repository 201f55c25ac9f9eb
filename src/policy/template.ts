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

/** Policy texts split once at their placeholders: literal, name, literal, name, ..., literal. */
const compiled = new Map<string, string[]>();

export function renderTemplate(text: string, values: TemplateValues): string {
  let parts = compiled.get(text);
  if (!parts) {
    parts = text.split(PLACEHOLDER);
    // Policy texts are a fixed set loaded at start-up; the bound only guards against misuse.
    if (compiled.size >= 10_000) compiled.clear();
    compiled.set(text, parts);
  }
  let out = parts[0]!;
  for (let i = 1; i < parts.length; i += 2) {
    const name = parts[i]!;
    out += (name in values ? values[name as keyof TemplateValues] : `{${name}}`) + parts[i + 1]!;
  }
  return out;
}

/** Compiles a policy-data pattern; patterns are case-insensitive unless marked otherwise. */
export function compilePattern(entry: string | { pattern: string; caseSensitive?: boolean }): RegExp {
  return typeof entry === 'string' ? new RegExp(entry, 'i') : new RegExp(entry.pattern, entry.caseSensitive ? '' : 'i');
}
