/**
 * The card view in a real browser (Debian's Chromium through playwright-core): for every scenario
 * (one per decision-table row, the other hooks and the §5 errors) a person fires the hook and this
 * checks what a clinician sees: indicator, summary, links, suggestions, the coverage-information
 * annotation in words, and the dismiss-with-reason and accept-a-suggestion paths (sent as CDS
 * Hooks feedback). The service runs in-process on an ephemeral port with its default
 * configuration, so the page's calls go through authentication and the whole pipeline.
 * Screenshots go to test-artifacts/screenshots/.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { buildCardViewScripts, launchBrowser, screenshotDir, type Browser } from './support/browser.js';
import { projectRoot } from './support/fixtures.js';
import { startTestService, type TestService } from './support/service.js';

interface SeenCard {
  indicator: 'info' | 'warning' | 'critical';
  summary: RegExp;
  /** Labels of links the card must show (each a pattern). */
  links: RegExp[];
  suggestions?: string[];
}

interface Seen {
  /** Cards in the order shown; [] = the clinician sees no card. */
  cards: SeenCard[];
  /** Sentences the coverage-information panel must show; [] = none on any order. */
  annotation: RegExp[];
  /** For an error: the status line. */
  error?: RegExp;
}

const MEDICA_LINKS = [/MP9672 Trigger Point Dry Needling/, /Medica Central provider service contacts/];
const BCBS_LINKS = [/BCBS MA medical policies \(Dry Needling of Trigger Points for Myofascial Pain\)/, /medically necessary and investigational/];
const NOT_COVERED = [/Not covered\./, /Prior authorization does not apply\./];

/** What DECISIONS §4 and §5 say a clinician sees, per scenario of cds-hooks/examples.json. */
const SEEN: Record<string, Seen> = {
  'order-sign-M1-medica-commercial': {
    cards: [{ indicator: 'warning', summary: /^Medica Central: dry needling is investigative and not covered \(MP9672\)$/, links: MEDICA_LINKS }],
    annotation: [...NOT_COVERED, /Billing code: 20560/],
  },
  'order-sign-M2-medica-medicaid': {
    cards: [{ indicator: 'warning', summary: /^Medica Central \(Medicaid\): dry needling is investigative and not covered/, links: MEDICA_LINKS }],
    annotation: [...NOT_COVERED, /Billing code: 20561/],
  },
  'order-sign-M3-medica-unlisted-20999': {
    cards: [{ indicator: 'info', summary: /if this unlisted procedure \(CPT 20999\) is dry needling, it is not covered/, links: MEDICA_LINKS }],
    annotation: [/Conditional/, /No prior authorization needed\./, /Still needed for a decision: other information/, /Billing code: 20999/],
  },
  'order-sign-B1-bcbsma-outpatient': {
    cards: [{ indicator: 'warning', summary: /investigational and not a covered service outpatient/, links: BCBS_LINKS }],
    annotation: NOT_COVERED,
  },
  'order-sign-B2-bcbsma-inpatient': {
    cards: [{ indicator: 'warning', summary: /investigational; inpatient precertification is required/, links: BCBS_LINKS }],
    annotation: [/Conditional/, /Prior authorization needed\./, /Reason: .*precertification is required/],
  },
  'order-sign-B3-bcbsma-setting-unknown': {
    cards: [
      {
        indicator: 'warning',
        summary: /not covered outpatient, precertification needed inpatient/,
        links: BCBS_LINKS,
        suggestions: ['Record as outpatient (ambulatory)', 'Record as inpatient'],
      },
    ],
    annotation: [/Conditional/, /Prior authorization may be needed/, /Still needed for a decision: where the service will be performed \(the care setting\)/],
  },
  'order-sign-B4-bcbsma-medicare-advantage': {
    cards: [{ indicator: 'info', summary: /Medicare Advantage: the commercial dry needling policy does not apply; see medical policy 132/, links: [/policy 132, Medicare Advantage Management/] }],
    annotation: [/Conditional/, /Prior authorization may be needed/, /Still needed for a decision: other information/],
  },
  'order-sign-D1-before-policy-effective': { cards: [], annotation: [] },
  'order-sign-D1-bcbsma-before-policy-effective': { cards: [], annotation: [] },
  'order-sign-C1-coverage-not-active': {
    cards: [{ indicator: 'warning', summary: /no active coverage on 2026-12-01/, links: BCBS_LINKS }],
    annotation: [...NOT_COVERED, /Coverage\/cov-ivy-expired/],
  },
  'order-sign-X1-not-dry-needling': { cards: [], annotation: [] },
  'order-sign-multiple-coverages': {
    cards: [
      {
        indicator: 'warning',
        summary: /^Blue Cross Blue Shield of Massachusetts: .*precertification needed inpatient/,
        links: BCBS_LINKS,
        suggestions: ['Record as outpatient (ambulatory)', 'Record as inpatient'],
      },
      { indicator: 'warning', summary: /^Medica Central: dry needling is investigative and not covered/, links: MEDICA_LINKS },
    ],
    annotation: [/Coverage\/cov-hal-bcbsma/, /Coverage\/cov-hal-medica/, /Still needed for a decision: where the service will be performed/, /Not covered\./],
  },
  'order-select-B1-bcbsma-outpatient': {
    cards: [{ indicator: 'warning', summary: /not a covered service outpatient/, links: BCBS_LINKS }],
    annotation: NOT_COVERED,
  },
  'order-dispatch-M1-medica-commercial': {
    cards: [{ indicator: 'warning', summary: /^Medica Central: dry needling is investigative and not covered/, links: MEDICA_LINKS }],
    annotation: NOT_COVERED,
  },
  'appointment-book-B2-bcbsma-inpatient': {
    cards: [{ indicator: 'warning', summary: /inpatient precertification is required/, links: BCBS_LINKS }],
    annotation: [/ServiceRequest\/sr-dn-20560/, /Prior authorization needed\./],
  },
  'error-400-no-coverage': { cards: [], annotation: [], error: /HTTP 400: No Coverage was found for the patient/ },
  'error-400-payer-not-served': { cards: [], annotation: [], error: /HTTP 400: None of the patient's Coverages is with a payer this service serves/ },
  'error-412-coverage-unreachable': { cards: [], annotation: [], error: /HTTP 412: The patient's Coverage is needed/ },
};

const manifest: Array<{ file: string }> = JSON.parse(readFileSync(join(projectRoot, 'cds-hooks', 'examples.json'), 'utf8'));
const scenarioNames = manifest.map((m) => m.file.replace(/\.json$/, ''));

let running: TestService;
let base: string;
let browser: Browser;
const problems: string[] = [];

beforeAll(async () => {
  buildCardViewScripts();
  running = await startTestService({}, { cardView: true });
  base = running.base;
  browser = await launchBrowser();
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await running?.stop();
});

/** A fresh tab on the card view with the scenario picked; page errors and console errors are collected. */
async function openScenario(name: string, careSetting?: string): Promise<Page> {
  const page = await browser.context.newPage();
  page.on('pageerror', (error) => problems.push(`${name}: page error ${error.message}`));
  page.on('console', (message) => {
    if (message.type() === 'error') problems.push(`${name}: console error ${message.text()}`);
  });
  const query = new URLSearchParams({ scenario: name, ...(careSetting ? { careSetting } : {}) });
  await page.goto(`${base}/card-view/?${query.toString()}`);
  await page.waitForSelector('body[data-ready="true"]');
  return page;
}

async function fire(page: Page): Promise<void> {
  const before = Number((await page.getAttribute('body', 'data-fired')) ?? '0');
  await page.click('#fire');
  await page.waitForSelector(`body[data-fired="${before + 1}"]`);
}

test('every scenario of cds-hooks/examples.json has an expectation here', () => {
  expect(Object.keys(SEEN).sort()).toEqual([...scenarioNames].sort());
});

test.each(scenarioNames)('%s: the clinician sees what DECISIONS says', async (name) => {
  const seen = SEEN[name]!;
  const page = await openScenario(name);
  try {
    expect(await page.inputValue('#scenario')).toBe(name);
    await fire(page);
    await page.screenshot({ path: join(screenshotDir, `${name}.png`), fullPage: true });

    const status = (await page.textContent('#status')) ?? '';
    if (seen.error) expect(status).toMatch(seen.error);
    else expect(status).toMatch(/^HTTP 200/);

    const cards = page.locator('#cards .card');
    expect(await cards.count()).toBe(seen.cards.length);
    for (const [i, want] of seen.cards.entries()) {
      const card = cards.nth(i);
      expect(await card.getAttribute('data-indicator')).toBe(want.indicator);
      expect(await card.locator('.card__indicator').textContent()).toBe(want.indicator[0]!.toUpperCase() + want.indicator.slice(1));
      expect(await card.locator('.card__summary').textContent()).toMatch(want.summary);
      // The markdown detail is rendered, not shown as markdown source.
      expect(await card.locator('.card__detail strong').count()).toBeGreaterThan(0);
      expect(await card.locator('.card__detail').textContent()).not.toMatch(/\*\*/);
      expect(await card.locator('.card__source a').getAttribute('href')).toMatch(/^https:\/\//);
      const links = await card.locator('.card__links a').allTextContents();
      for (const link of want.links) expect(links.some((l) => link.test(l))).toBe(true);
      expect(await card.locator('.suggestion').allTextContents()).toEqual(want.suggestions ?? []);
      expect(await card.locator('.card__dismiss').isVisible()).toBe(true);
    }

    const annotation = (await page.textContent('#annotations')) ?? '';
    if (seen.annotation.length === 0) {
      expect(annotation).toMatch(/No coverage information/);
    } else {
      for (const sentence of seen.annotation) expect(annotation).toMatch(sentence);
    }

    // The exchange is shown: the request that was sent and the response, never the token.
    const exchange = (await page.textContent('#exchanges')) ?? '';
    expect(exchange).toMatch(/POST http:\/\/127\.0\.0\.1:\d+\/cds-services\/crd-/);
    expect(exchange).toContain(`"hook": "${name.startsWith('error') ? 'order-sign' : name.split('-').slice(0, 2).join('-')}"`);
    expect(exchange).not.toMatch(/eyJ[\w-]+\.eyJ/);
  } finally {
    await page.close();
  }
});

test('dismissing a card asks for one of its override reasons and sends it as CDS Hooks feedback', async () => {
  const page = await openScenario('order-sign-B2-bcbsma-inpatient');
  try {
    await fire(page);
    const card = page.locator('#cards .card').first();
    await card.locator('.card__dismiss').click();
    const form = card.locator('form.override');
    expect(await form.isVisible()).toBe(true);
    const reasons = await form.locator('.override__choice').allTextContents();
    expect(reasons.map((r) => r.trim())).toContain('Precertification has been or will be requested');
    await form.getByLabel('Precertification has been or will be requested').check();
    await form.getByLabel('Comment (optional)').fill('Admitted; precertification requested by the unit.');
    await page.screenshot({ path: join(screenshotDir, 'dismiss-with-reason-form.png'), fullPage: true });
    await form.getByRole('button', { name: 'Dismiss card' }).click();
    await card.locator('.card__status').filter({ hasText: /Dismissed|HTTP|feedback/ }).waitFor();

    expect(await card.locator('.card__status').textContent()).toMatch(
      /^Dismissed \(reason: Precertification has been or will be requested\)\. Feedback sent to crd-order-sign: HTTP 200\.$/,
    );
    expect(await card.getAttribute('class')).toContain('card--dismissed');
    const feedback = (await page.locator('.exchange').first().textContent()) ?? '';
    expect(feedback).toMatch(/Feedback: POST http:\/\/127\.0\.0\.1:\d+\/cds-services\/crd-order-sign\/feedback → HTTP 200/);
    expect(feedback).toContain('"outcome": "overridden"');
    expect(feedback).toMatch(/"reason": \{\s*"system": "http:\/\/crd-dry-needling\.example\.org\/fhir\/CodeSystem\/override-reason",\s*"code": "[^"]+",\s*"display": "Precertification has been or will be requested"/);
    expect(feedback).toContain('"userComment": "Admitted; precertification requested by the unit."');
    await page.screenshot({ path: join(screenshotDir, 'dismiss-with-reason-sent.png'), fullPage: true });
  } finally {
    await page.close();
  }
});

test('accepting a B3 suggestion records the care setting; signing again gives the B2 answer', async () => {
  const page = await openScenario('order-sign-B3-bcbsma-setting-unknown');
  try {
    await fire(page);
    const card = page.locator('#cards .card').first();
    await card.getByRole('button', { name: 'Record as inpatient' }).click();
    await card.locator('.card__status').filter({ hasText: /Accepted|HTTP/ }).waitFor();
    expect(await card.locator('.card__status').textContent()).toMatch(/^Accepted "Record as inpatient": .*Feedback sent: HTTP 200\. Care setting is now inpatient/);
    expect(await page.inputValue('#care-setting')).toBe('inpatient');
    const feedback = (await page.locator('.exchange').first().textContent()) ?? '';
    expect(feedback).toContain('"outcome": "accepted"');
    expect(feedback).toContain('"acceptedSuggestions"');

    await fire(page);
    expect(await page.locator('#cards .card .card__summary').first().textContent()).toMatch(/inpatient precertification is required/);
    expect(await page.textContent('#annotations')).toMatch(/Prior authorization needed\./);
    expect(await page.locator('#cards .card .card__detail').first().textContent()).toMatch(/care setting inpatient \(order category IMP\)/);
  } finally {
    await page.close();
  }
});

test('the care setting choice rewrites the order: B2 recorded as outpatient is B1', async () => {
  const page = await openScenario('order-sign-B2-bcbsma-inpatient', 'outpatient');
  try {
    expect(await page.inputValue('#care-setting')).toBe('outpatient');
    await fire(page);
    expect(await page.locator('#cards .card .card__summary').first().textContent()).toMatch(/not a covered service outpatient/);
    expect(await page.locator('#cards .card .card__detail').first().textContent()).toMatch(/care setting outpatient \(order category AMB\)/);
  } finally {
    await page.close();
  }
});

test('no page error and no console error (a Content-Security-Policy violation would be one) on any of the pages above', () => {
  expect(problems).toEqual([]);
});
