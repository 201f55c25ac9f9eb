import markdownit from './vendor/markdown-it.js';
import { el } from './dom.js';
import type { Card, Coding, Suggestion } from './types.js';

/**
 * Cards drawn the way an EHR shows CDS Hooks cards (CDS Hooks 2.0 §Card Attributes): indicator,
 * summary, markdown detail, source, links, suggestion buttons, and a dismiss action that asks for
 * one of the card's override reasons.
 */

// CommonMark with raw HTML off: markdown-it escapes any HTML in the detail and refuses
// javascript:, vbscript:, file: and data: links, so its output is safe to insert.
const markdown = markdownit({ html: false, linkify: false, typographer: false });

const INDICATOR_LABEL: Record<Card['indicator'], string> = { info: 'Info', warning: 'Warning', critical: 'Critical' };

export interface CardActions {
  /** Sends "overridden" feedback; resolves to a line saying what happened. */
  dismiss(card: Card, reason: Coding | undefined, userComment: string): Promise<string>;
  /** Sends "accepted" feedback for a suggestion; resolves to a line saying what happened. */
  accept(card: Card, suggestion: Suggestion): Promise<string>;
}

let cardCount = 0;

function externalLink(href: string, text: string): HTMLAnchorElement {
  return el('a', { href, target: '_blank', rel: 'noopener noreferrer' }, text);
}

function detail(markdownText: string): HTMLElement {
  const container = el('div', { class: 'card__detail' });
  container.innerHTML = markdown.render(markdownText);
  for (const link of container.querySelectorAll('a')) {
    link.target = '_blank';
    link.rel = 'noopener noreferrer';
  }
  return container;
}

function overrideForm(card: Card, id: string, actions: CardActions, done: (line: string, dismissed: boolean) => void): HTMLFormElement {
  const reasons = card.overrideReasons ?? [];
  const choices = reasons.map((reason, i) =>
    el(
      'label',
      { class: 'override__choice' },
      el('input', { type: 'radio', name: `${id}-reason`, value: String(i), ...(i === 0 ? { checked: '' } : {}) }),
      ` ${reason.display ?? reason.code}`,
    ),
  );
  const comment = el('textarea', { id: `${id}-comment`, name: 'comment', rows: '2', maxlength: '500' });
  const submit = el('button', { type: 'submit', class: 'button button--primary' }, 'Dismiss card');
  const cancel = el('button', { type: 'button', class: 'button' }, 'Cancel');
  const form = el(
    'form',
    { class: 'override', hidden: '' },
    el(
      'fieldset',
      {},
      el('legend', {}, reasons.length > 0 ? 'Why are you dismissing this card?' : 'Dismiss this card'),
      ...choices,
      el('label', { for: `${id}-comment`, class: 'override__comment-label' }, 'Comment (optional)'),
      comment,
    ),
    el('div', { class: 'override__buttons' }, submit, cancel),
  );
  cancel.addEventListener('click', () => {
    form.hidden = true;
  });
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const picked = form.querySelector<HTMLInputElement>(`input[name="${id}-reason"]:checked`);
    const reason = picked ? reasons[Number(picked.value)] : undefined;
    submit.disabled = true;
    actions.dismiss(card, reason, comment.value).then(
      (line) => {
        form.hidden = true;
        done(line, true);
      },
      (error: unknown) => {
        submit.disabled = false;
        done(error instanceof Error ? error.message : String(error), false);
      },
    );
  });
  return form;
}

export function renderCard(card: Card, actions: CardActions): HTMLElement {
  const id = `card-${++cardCount}`;
  const status = el('p', { class: 'card__status', role: 'status' });
  const article = el('article', { class: `card card--${card.indicator}`, 'data-indicator': card.indicator, 'aria-labelledby': `${id}-summary` });
  const say = (line: string) => {
    status.textContent = line;
  };

  const header = el(
    'header',
    { class: 'card__header' },
    el('span', { class: 'card__indicator' }, INDICATOR_LABEL[card.indicator] ?? card.indicator),
    el('h3', { class: 'card__summary', id: `${id}-summary` }, card.summary),
  );
  article.append(header);
  if (card.detail) article.append(detail(card.detail));

  const source = el('p', { class: 'card__source' }, 'Source: ');
  source.append(card.source.url ? externalLink(card.source.url, card.source.label) : card.source.label);
  if (card.source.topic) source.append(` · ${card.source.topic.display ?? card.source.topic.code}`);
  article.append(source);

  if (card.links && card.links.length > 0) {
    article.append(el('ul', { class: 'card__links', 'aria-label': 'Links' }, ...card.links.map((l) => el('li', {}, externalLink(l.url, l.label)))));
  }

  const buttons = el('div', { class: 'card__actions' });
  for (const suggestion of card.suggestions ?? []) {
    const button = el('button', { type: 'button', class: `button suggestion${suggestion.isRecommended ? ' suggestion--recommended' : ''}` }, suggestion.label);
    button.addEventListener('click', () => {
      for (const b of buttons.querySelectorAll('button')) b.disabled = true;
      actions.accept(card, suggestion).then(
        (line) => {
          article.classList.add('card--accepted');
          say(line);
        },
        (error: unknown) => {
          for (const b of buttons.querySelectorAll('button')) b.disabled = false;
          say(error instanceof Error ? error.message : String(error));
        },
      );
    });
    buttons.append(button);
  }
  const form = overrideForm(card, id, actions, (line, dismissed) => {
    if (dismissed) {
      article.classList.add('card--dismissed');
      for (const b of buttons.querySelectorAll('button')) b.disabled = true;
    }
    say(line);
  });
  const dismiss = el('button', { type: 'button', class: 'button card__dismiss', 'aria-expanded': 'false' }, 'Dismiss…');
  dismiss.addEventListener('click', () => {
    form.hidden = !form.hidden;
    dismiss.setAttribute('aria-expanded', String(!form.hidden));
    if (!form.hidden) form.querySelector<HTMLInputElement>('input, textarea')?.focus();
  });
  buttons.append(dismiss);
  article.append(buttons, form, status);
  return article;
}
