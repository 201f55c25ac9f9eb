import { coverageAnnotations } from '../explain/coverage-information.js';

/** A CDS Hooks answer for a terminal: cards as a clinician sees them, then the coverage information in words. */

interface LooseCard {
  summary?: string;
  detail?: string;
  indicator?: string;
  source?: { label?: string; url?: string };
  links?: Array<{ label?: string; url?: string }>;
  suggestions?: Array<{ label?: string; isRecommended?: boolean }>;
  overrideReasons?: Array<{ code?: string; display?: string }>;
}

function indent(text: string, by: string): string {
  return text
    .split('\n')
    .map((line) => (line === '' ? line : by + line))
    .join('\n');
}

export function printCards(response: unknown, options: { detail?: boolean } = {}): string {
  const cards = ((response as { cards?: unknown } | null)?.cards ?? []) as LooseCard[];
  if (!Array.isArray(cards) || cards.length === 0) return 'No cards.';
  const lines: string[] = [`${cards.length} card${cards.length > 1 ? 's' : ''}:`];
  for (const card of cards) {
    lines.push('', `[${(card.indicator ?? '?').toUpperCase()}] ${card.summary ?? '(no summary)'}`);
    if (card.source?.label) lines.push(`  Source: ${card.source.label}${card.source.url ? ` <${card.source.url}>` : ''}`);
    for (const link of card.links ?? []) lines.push(`  Link: ${link.label ?? ''} <${link.url ?? ''}>`);
    const suggestions = (card.suggestions ?? []).map((s) => `[${s.label ?? '?'}]${s.isRecommended ? ' (recommended)' : ''}`);
    if (suggestions.length > 0) lines.push(`  Suggestions: ${suggestions.join(' ')}`);
    const reasons = (card.overrideReasons ?? []).map((r) => r.display ?? r.code ?? '?');
    if (reasons.length > 0) lines.push(`  Override reasons: ${reasons.join('; ')}`);
    if (options.detail && card.detail) lines.push('  Detail:', indent(card.detail, '    '));
  }
  return lines.join('\n');
}

export function printCoverageInformation(response: unknown): string {
  const orders = coverageAnnotations(response);
  if (orders.length === 0) return 'No coverage information on any order.';
  const lines = ['Coverage information:'];
  for (const order of orders) {
    lines.push(`  ${order.order}${order.orderText ? ` "${order.orderText}"` : ''}`);
    for (const coverage of order.coverages) {
      lines.push(`    ${coverage.coverage ?? 'Coverage'}:`);
      for (const sentence of coverage.sentences) lines.push(`      ${sentence}`);
    }
  }
  return lines.join('\n');
}

/** An OperationOutcome's issues, one a line; the raw body when it is not one. */
export function printOutcome(body: unknown): string {
  const outcome = body as { resourceType?: unknown; issue?: Array<{ severity?: string; code?: string; diagnostics?: string; expression?: string[] }> } | null;
  if (outcome?.resourceType !== 'OperationOutcome' || !Array.isArray(outcome.issue)) {
    return typeof body === 'string' ? body : JSON.stringify(body, null, 2);
  }
  return [
    'OperationOutcome:',
    ...outcome.issue.map(
      (i) => `  ${i.severity ?? '?'} ${i.code ?? '?'}: ${i.diagnostics ?? ''}${i.expression?.length ? ` (at ${i.expression.join(', ')})` : ''}`,
    ),
  ].join('\n');
}
