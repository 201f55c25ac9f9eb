/**
 * The card view's server side over real HTTP: what the page may ask, what it may not, and that each
 * call it makes is a signed call through the service's own authentication (the browser walk is in
 * card-view.browser.test.ts).
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig, type ServiceConfig } from '../src/config.js';
import { projectRoot } from './support/fixtures.js';
import { startTestService, type TestService } from './support/service.js';

async function start(config: ServiceConfig): Promise<{ server: TestService; base: string }> {
  const server = await startTestService({}, config);
  return { server, base: server.base };
}

const stop = (server: TestService) => server.stop();

async function post(url: string, body: unknown, headers: Record<string, string> = {}): Promise<{ status: number; body: any }> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
  return { status: res.status, body: await res.json() };
}

describe('CARD_VIEW', () => {
  test('on by default, off by default in production, and on|off when set', () => {
    expect(loadConfig({}).cardView).toBe(true);
    expect(loadConfig({ NODE_ENV: 'production', CDS_AUTH: 'off' }).cardView).toBe(false);
    expect(loadConfig({ NODE_ENV: 'production', CDS_AUTH: 'off', CARD_VIEW: 'on' }).cardView).toBe(true);
    expect(loadConfig({ CARD_VIEW: 'off' }).cardView).toBe(false);
    expect(() => loadConfig({ CARD_VIEW: 'yes' })).toThrow('CARD_VIEW must be "on" or "off", got "yes"');
  });

  test('off: nothing at /card-view', async () => {
    const { server, base } = await start({ ...loadConfig({ CARD_VIEW: 'off' }), port: 0 });
    try {
      expect((await fetch(`${base}/card-view/`)).status).toBe(404);
      expect((await post(`${base}/card-view/api/fire`, { scenario: 'order-sign-M1-medica-commercial' })).status).toBe(404);
    } finally {
      await stop(server);
    }
  });
});

describe('the card view (default configuration: authentication required)', () => {
  let server: TestService;
  let base: string;
  beforeAll(async () => {
    ({ server, base } = await start({ ...loadConfig({}), port: 0 }));
  });
  afterAll(() => stop(server));

  test('the page: same-origin script and style only, under the service\'s Content-Security-Policy', async () => {
    const res = await fetch(`${base}/card-view/`);
    expect(res.status).toBe(200);
    const csp = res.headers.get('content-security-policy') ?? '';
    expect(csp).toMatch(/script-src 'self'/);
    expect(csp).toMatch(/default-src 'self'/);
    const html = await res.text();
    expect(html).toContain('<script type="module" src="/card-view/js/main.js"></script>');
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
    expect(html).not.toMatch(/\sstyle=|<style/);
    expect(html).not.toMatch(/\son[a-z]+=/);
    const markdown = await fetch(`${base}/card-view/js/vendor/markdown-it.js`);
    expect(markdown.status).toBe(200);
    expect(markdown.headers.get('content-type')).toMatch(/^text\/javascript/);
    expect((await fetch(`${base}/card-view/card-view.css`)).headers.get('content-type')).toMatch(/^text\/css/);
  });

  test('the scenarios: every example, with the patient, coverage, order and recorded care setting', async () => {
    const res = await fetch(`${base}/card-view/api/scenarios`);
    const { scenarios, careSettings } = (await res.json()) as { scenarios: any[]; careSettings: string[] };
    const manifest = JSON.parse(readFileSync(join(projectRoot, 'cds-hooks', 'examples.json'), 'utf8')) as Array<{ file: string }>;
    expect(scenarios.map((s) => s.name)).toEqual(manifest.map((m) => m.file.replace(/\.json$/, '')));
    expect(careSettings).toEqual(['as-recorded', 'inpatient', 'outpatient', 'unknown']);
    const b1 = scenarios.find((s) => s.name === 'order-select-B1-bcbsma-outpatient');
    expect(b1).toMatchObject({ hook: 'order-select', row: 'B1', serviceId: 'crd-order-select' });
    expect(b1.picture.orders.map((o: any) => o.careSetting)).toEqual([
      'outpatient (Encounter/enc-anna-ambulatory class AMB)',
      'outpatient (Encounter/enc-anna-ambulatory class AMB)',
    ]);
  });

  test('fire: a signed call to the service\'s own endpoint (aud = that URL); the answer, never the token', async () => {
    const { status, body } = await post(`${base}/card-view/api/fire`, { scenario: 'order-sign-M1-medica-commercial' });
    expect(status).toBe(200);
    expect(body.url).toBe(`${base}/cds-services/crd-order-sign`);
    expect(body.authorization).toEqual({ scheme: 'Bearer', iss: 'urn:crd-dry-needling:dev-client', aud: `${base}/cds-services/crd-order-sign` });
    expect(body.status).toBe(200);
    expect(body.request.hook).toBe('order-sign');
    expect(body.response.cards[0].summary).toMatch(/Medica Central/);
    expect(body.annotations[0].coverages[0].sentences).toContain('Not covered.');
    expect(JSON.stringify(body)).not.toMatch(/eyJ[\w-]+\.eyJ/);
  });

  test('fire: an error answer of the service is passed on as it came (status and OperationOutcome)', async () => {
    const { status, body } = await post(`${base}/card-view/api/fire`, { scenario: 'error-412-coverage-unreachable' });
    expect(status).toBe(200);
    expect(body.status).toBe(412);
    expect(body.response.resourceType).toBe('OperationOutcome');
    expect(body.annotations).toEqual([]);
  });

  test('the page may send only a scenario name and a care setting: anything else is a 400', async () => {
    const unknown = await post(`${base}/card-view/api/fire`, { scenario: 'order-sign-M1' });
    expect(unknown.status).toBe(400);
    expect(unknown.body.issue[0].diagnostics).toMatch(/No scenario "order-sign-M1"/);
    expect((await post(`${base}/card-view/api/fire`, { scenario: 'order-sign-M1-medica-commercial', careSetting: 'ward' })).status).toBe(400);
    expect((await post(`${base}/card-view/api/fire`, ['order-sign-M1-medica-commercial'])).status).toBe(400);
    expect((await post(`${base}/card-view/api/fire`, { request: { hook: 'order-sign' } })).status).toBe(400);
  });

  test('feedback only for a card the card view received, with an override reason that card offered', async () => {
    const fired = await post(`${base}/card-view/api/fire`, { scenario: 'order-sign-B3-bcbsma-setting-unknown' });
    const card = fired.body.response.cards[0];
    const reason = card.overrideReasons[0];

    const dismissed = await post(`${base}/card-view/api/feedback`, { card: card.uuid, outcome: 'overridden', reason: reason.code, userComment: 'Seen' });
    expect(dismissed.status).toBe(200);
    expect(dismissed.body.url).toBe(`${base}/cds-services/crd-order-sign/feedback`);
    expect(dismissed.body.authorization.aud).toBe(`${base}/cds-services/crd-order-sign/feedback`);
    expect(dismissed.body.status).toBe(200);
    expect(dismissed.body.request.feedback).toEqual([
      { card: card.uuid, outcome: 'overridden', overrideReason: { reason, userComment: 'Seen' }, outcomeTimestamp: expect.any(String) },
    ]);

    const suggestion = card.suggestions.find((s: any) => s.label === 'Record as outpatient (ambulatory)');
    const accepted = await post(`${base}/card-view/api/feedback`, { card: card.uuid, outcome: 'accepted', suggestion: suggestion.uuid });
    expect(accepted.body.status).toBe(200);
    expect(accepted.body.request.feedback[0].acceptedSuggestions).toEqual([{ id: suggestion.uuid }]);
    expect(accepted.body.recordsCareSetting).toBe('outpatient');

    const notShown = await post(`${base}/card-view/api/feedback`, { card: '00000000-0000-4000-8000-000000000000', outcome: 'overridden' });
    expect(notShown.status).toBe(400);
    const notOffered = await post(`${base}/card-view/api/feedback`, { card: card.uuid, outcome: 'overridden', reason: 'made-up' });
    expect(notOffered.status).toBe(400);
    expect(notOffered.body.issue[0].diagnostics).toBe('The card offers no override reason "made-up".');
    expect((await post(`${base}/card-view/api/feedback`, { card: card.uuid, outcome: 'accepted' })).status).toBe(400);
    expect((await post(`${base}/card-view/api/feedback`, { card: card.uuid, outcome: 'overridden', userComment: 'x'.repeat(501) })).status).toBe(400);
  });

  test('another site\'s page may not use the card view\'s API', async () => {
    const scenario = { scenario: 'order-sign-M1-medica-commercial' };
    const crossOrigin = await post(`${base}/card-view/api/fire`, scenario, { origin: 'https://evil.example' });
    expect(crossOrigin.status).toBe(403);
    expect(crossOrigin.body.resourceType).toBe('OperationOutcome');
    expect((await post(`${base}/card-view/api/fire`, scenario, { 'sec-fetch-site': 'cross-site' })).status).toBe(403);
    expect((await post(`${base}/card-view/api/fire`, scenario, { origin: 'null' })).status).toBe(403);
    expect((await post(`${base}/card-view/api/fire`, scenario, { origin: base, 'sec-fetch-site': 'same-origin' })).status).toBe(200);
  });
});

test('with CDS_PUBLIC_BASE_URL the card view signs for the public URL and still calls the service it runs in', async () => {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const port = (probe.address() as AddressInfo).port;
  await new Promise((resolve) => probe.close(resolve));
  const { server, base } = await start({ ...loadConfig({ CDS_PUBLIC_BASE_URL: `http://localhost:${port}` }), port });
  try {
    const { body } = await post(`${base}/card-view/api/fire`, { scenario: 'order-sign-B1-bcbsma-outpatient' });
    expect(body.url).toBe(`${base}/cds-services/crd-order-sign`);
    expect(body.authorization.aud).toBe(`http://localhost:${port}/cds-services/crd-order-sign`);
    expect(body.status).toBe(200);
  } finally {
    await stop(server);
  }
});
