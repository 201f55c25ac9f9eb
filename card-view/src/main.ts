import { fire, loadScenarios, sendFeedback } from './api.js';
import { renderCard, type CardActions } from './cards.js';
import { byId, el, json } from './dom.js';
import type { CdsResponse, Exchange, FireResult, OperationOutcome, OrderAnnotation, ScenarioListing } from './types.js';

/**
 * The card view page: pick a scenario, fire its hook through the service's demo EHR, and see the
 * cards, the coverage information on the order, and every HTTP exchange.
 */

const CARE_SETTING_LABEL: Record<string, string> = {
  'as-recorded': 'As recorded in the scenario',
  inpatient: 'Inpatient (order category IMP)',
  outpatient: 'Outpatient (order category AMB)',
  unknown: 'Unknown (no category, place of service or Encounter)',
};

const HOOK_ACTION: Record<string, string> = {
  'order-sign': 'Sign the order',
  'order-select': 'Select the order',
  'order-dispatch': 'Dispatch the order',
  'appointment-book': 'Book the appointment',
};

const form = byId<HTMLFormElement>('scenario-form');
const scenarioSelect = byId<HTMLSelectElement>('scenario');
const careSettingSelect = byId<HTMLSelectElement>('care-setting');
const fireButton = byId<HTMLButtonElement>('fire');
const description = byId<HTMLParagraphElement>('scenario-description');
const picture = byId<HTMLElement>('scenario-picture');
const statusLine = byId<HTMLParagraphElement>('status');
const cardsList = byId<HTMLElement>('cards');
const annotations = byId<HTMLElement>('annotations');
const exchanges = byId<HTMLElement>('exchanges');

let scenarios: ScenarioListing[] = [];

function selected(): ScenarioListing | undefined {
  return scenarios.find((s) => s.name === scenarioSelect.value);
}

function group(s: ScenarioListing): string {
  if (s.row === 'error') return 'Errors (DECISIONS §5)';
  if (s.hook !== 'order-sign') return 'Other hooks';
  return 'Decision table (order-sign)';
}

function fillScenarios(list: ScenarioListing[]): void {
  const groups = new Map<string, HTMLOptGroupElement>();
  for (const s of list) {
    const label = group(s);
    let optgroup = groups.get(label);
    if (!optgroup) {
      optgroup = el('optgroup', { label });
      groups.set(label, optgroup);
    }
    optgroup.append(el('option', { value: s.name }, `${s.row === 'error' ? `${s.status}` : s.row} · ${s.name}`));
  }
  scenarioSelect.replaceChildren(...groups.values());
}

function definition(term: string, ...details: Array<string | Node>): HTMLElement[] {
  return [el('dt', {}, term), ...details.map((d) => el('dd', {}, d))];
}

function showScenario(): void {
  const s = selected();
  if (!s) return;
  description.textContent = s.description;
  const p = s.picture;
  const coverages = p.coverages.length > 0
    ? p.coverages.map((c) => [c.payer, c.plan, c.status, c.period ? `period ${c.period}` : undefined, `(${c.reference})`].filter((x) => !!x).join(' · '))
    : ['none prefetched'];
  const orders = p.orders.map((o) => [o.text, o.codes.length > 0 ? `codes ${o.codes.join(', ')}` : undefined, o.date, `(${o.reference})`].filter((x) => !!x).join(' · '));
  const settings = p.orders.flatMap((o) => (o.careSetting ? [`${o.reference}: ${o.careSetting}`] : []));
  picture.replaceChildren(
    ...definition('Patient', `${p.patient.name}${p.patient.birthDate ? `, born ${p.patient.birthDate}` : ''} (${p.patient.reference})`),
    ...definition('Coverage', ...coverages),
    ...definition(p.orders.length > 1 ? 'Orders' : 'Order', ...orders),
    ...(settings.length > 0 ? definition('Care setting as recorded', ...settings) : []),
    ...definition('Hook', `${s.hook} → service ${s.serviceId}`),
  );
  fireButton.textContent = `${HOOK_ACTION[s.hook] ?? 'Fire'} (fire ${s.hook})`;
}

function outcomeText(response: unknown): string {
  const outcome = response as OperationOutcome | null;
  if (outcome?.resourceType !== 'OperationOutcome') return '';
  return (outcome.issue ?? []).map((i) => i.diagnostics ?? i.code ?? '').join('; ');
}

function addExchange(title: string, exchange: Exchange): void {
  const auth = `Authorization: ${exchange.authorization.scheme} <JWT signed on the server by ${exchange.authorization.iss}, aud ${exchange.authorization.aud}; never sent to this page>`;
  const item = el(
    'details',
    { class: 'exchange' },
    el('summary', {}, `${title}: ${exchange.method} ${exchange.url} → HTTP ${exchange.status}`),
    el('h4', {}, 'Request'),
    el('pre', { class: 'exchange__request' }, `${exchange.method} ${exchange.url}\n${auth}\n\n${json(exchange.request)}`),
    el('h4', {}, 'Response'),
    el('pre', { class: 'exchange__response' }, `HTTP ${exchange.status}\n\n${json(exchange.response)}`),
  );
  exchanges.prepend(item);
}

function showAnnotations(list: OrderAnnotation[], result: FireResult): void {
  if (result.status !== 200) {
    annotations.replaceChildren(el('p', { class: 'muted' }, 'No coverage information: the service answered with an error.'));
    return;
  }
  if (list.length === 0) {
    annotations.replaceChildren(
      el('p', { class: 'muted annotation__none' }, 'No coverage information on any order: nothing in this request is in the scope of a policy in force on the date of service.'),
    );
    return;
  }
  annotations.replaceChildren(
    ...list.map((order) =>
      el(
        'section',
        { class: 'annotation', 'aria-label': `Coverage information on ${order.order}` },
        el('h3', {}, order.orderText ? `${order.orderText} (${order.order})` : order.order),
        ...order.coverages.map((c) =>
          el(
            'div',
            { class: `annotation__coverage annotation__coverage--${c.covered ?? 'none'}` },
            el('h4', {}, c.coverage ?? 'Coverage'),
            el('ul', {}, ...c.sentences.map((s) => el('li', {}, s))),
          ),
        ),
      ),
    ),
  );
}

function cardActions(result: FireResult): CardActions {
  return {
    async dismiss(card, reason, userComment) {
      if (!card.uuid) throw new Error('This card has no uuid, so no feedback can be sent.');
      const answer = await sendFeedback({
        card: card.uuid,
        outcome: 'overridden',
        ...(reason ? { reason: reason.code } : {}),
        ...(userComment.trim() ? { userComment: userComment.trim() } : {}),
      });
      addExchange('Feedback', answer);
      if (answer.status !== 200) throw new Error(`The service did not take the feedback: HTTP ${answer.status} ${outcomeText(answer.response)}`);
      return `Dismissed${reason ? ` (reason: ${reason.display ?? reason.code})` : ''}. Feedback sent to ${result.serviceId}: HTTP ${answer.status}.`;
    },
    async accept(card, suggestion) {
      if (!card.uuid || !suggestion.uuid) throw new Error('This suggestion has no uuid, so no feedback can be sent.');
      const answer = await sendFeedback({ card: card.uuid, outcome: 'accepted', suggestion: suggestion.uuid });
      addExchange('Feedback', answer);
      if (answer.status !== 200) throw new Error(`The service did not take the feedback: HTTP ${answer.status} ${outcomeText(answer.response)}`);
      const applied = (suggestion.actions ?? []).map((a) => a.description ?? a.type).join('; ');
      let line = `Accepted "${suggestion.label}"${applied ? `: ${applied}` : ''}. Feedback sent: HTTP ${answer.status}.`;
      if (answer.recordsCareSetting && careSettingSelect.querySelector(`option[value="${answer.recordsCareSetting}"]`)) {
        careSettingSelect.value = answer.recordsCareSetting;
        line += ` Care setting is now ${answer.recordsCareSetting}: sign again to see the new answer.`;
      }
      return line;
    },
  };
}

function showResult(result: FireResult): void {
  addExchange(`Hook ${result.scenario.hook}`, result);
  const response = result.response as CdsResponse | null;
  if (result.status !== 200) {
    statusLine.textContent = `The service answered HTTP ${result.status}: ${outcomeText(result.response) || 'see the response below'}`;
    statusLine.className = 'status status--error';
    cardsList.replaceChildren();
  } else {
    const cards = response?.cards ?? [];
    statusLine.textContent = cards.length === 0
      ? 'HTTP 200: no cards. The clinician sees nothing and signs undisturbed.'
      : `HTTP 200: ${cards.length} card${cards.length > 1 ? 's' : ''}.`;
    statusLine.className = 'status';
    const actions = cardActions(result);
    cardsList.replaceChildren(...cards.map((card) => renderCard(card, actions)));
  }
  showAnnotations(result.annotations, result);
}

form.addEventListener('submit', (event) => {
  event.preventDefault();
  fireButton.disabled = true;
  statusLine.textContent = 'Calling the service…';
  statusLine.className = 'status';
  fire(scenarioSelect.value, careSettingSelect.value)
    .then(showResult, (error: unknown) => {
      statusLine.textContent = error instanceof Error ? error.message : String(error);
      statusLine.className = 'status status--error';
    })
    .finally(() => {
      fireButton.disabled = false;
      document.body.dataset.fired = String(Number(document.body.dataset.fired ?? '0') + 1);
    });
});

scenarioSelect.addEventListener('change', showScenario);

loadScenarios().then(
  (list) => {
    scenarios = list.scenarios;
    fillScenarios(scenarios);
    careSettingSelect.replaceChildren(...list.careSettings.map((c) => el('option', { value: c }, CARE_SETTING_LABEL[c] ?? c)));
    const wanted = new URLSearchParams(location.search);
    const name = wanted.get('scenario');
    if (name && scenarios.some((s) => s.name === name)) scenarioSelect.value = name;
    const setting = wanted.get('careSetting');
    if (setting && list.careSettings.includes(setting)) careSettingSelect.value = setting;
    showScenario();
    fireButton.disabled = false;
    document.body.dataset.ready = 'true';
  },
  (error: unknown) => {
    statusLine.textContent = `Cannot load the scenarios: ${error instanceof Error ? error.message : String(error)}`;
    statusLine.className = 'status status--error';
  },
);
