import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import express, { type NextFunction, type Request, type Response } from 'express';
import { projectRoot } from '../config.js';
import { serviceDefinitions } from '../hooks/service-definitions.js';
import { badRequest, HttpError, operationOutcome } from '../http/errors.js';
import type { PolicyCatalog } from '../policy/catalog.js';
import { CARE_SETTING_CHOICES, isCareSettingChoice } from '../scenarios/care-setting-choice.js';
import { ScenarioBook } from '../scenarios/scenarios.js';
import { DemoEhr, type FeedbackChoice } from './demo-ehr.js';

export interface CardViewOptions {
  catalog: PolicyCatalog;
  /** Where the development key lives (default: `CDS_DEV_KEY_DIR`, else `.dev-keys/`). */
  devKeyDir?: string;
  /** The service's public base URL when one is configured: the audience of the card view's JWTs. */
  publicBaseUrl?: string;
  /** The folder of scenarios (default `cds-hooks/`). */
  scenarioDir?: string;
  log?: (event: Record<string, unknown>) => void;
}

/** The page (HTML, CSS) and the compiled browser code (`npm run build`: card-view/tsconfig.json). */
export const cardViewPublicDir = join(projectRoot, 'card-view', 'public');
export const cardViewScriptDir = join(projectRoot, 'dist', 'card-view');

/** markdown-it's own browser build: one self-contained ES module. */
function markdownItBrowserBundle(): string {
  return join(dirname(createRequire(import.meta.url).resolve('markdown-it/package.json')), 'dist', 'browser', 'markdown-it.esm.min.mjs');
}

/**
 * The card view: a demo EHR page at /card-view where a person fires a scenario's hook and sees
 * the cards as a clinician would. Same-origin files only (no inline script or style), so
 * helmet's default Content-Security-Policy holds. Its API refuses calls from other origins.
 */
export function cardViewRouter(options: CardViewOptions): express.Router {
  const log = options.log ?? (() => undefined);
  const ehr = new DemoEhr({
    catalog: options.catalog,
    services: serviceDefinitions(options.catalog),
    scenarios: ScenarioBook.load(options.scenarioDir),
    ...(options.devKeyDir ? { devKeyDir: options.devKeyDir } : {}),
    ...(options.publicBaseUrl ? { publicBaseUrl: options.publicBaseUrl } : {}),
  });
  if (!existsSync(join(cardViewScriptDir, 'main.js'))) {
    log({ event: 'card-view', warning: `no compiled page script in ${cardViewScriptDir}: run npm run build` });
  }

  const router = express.Router();
  // The page renders card details with markdown-it (HTML in the markdown is escaped, not parsed).
  const markdownIt = markdownItBrowserBundle();
  router.get('/js/vendor/markdown-it.js', (_req, res) => {
    res.type('text/javascript').sendFile(markdownIt);
  });
  router.use('/js', express.static(cardViewScriptDir, { index: false }));
  router.use(express.static(cardViewPublicDir, { index: 'index.html' }));

  const api = express.Router();
  api.use(sameOriginOnly);
  api.use(express.json({ limit: '16kb' }));
  api.get('/scenarios', (_req, res) => {
    res.json({ scenarios: ehr.scenarios(), careSettings: CARE_SETTING_CHOICES });
  });
  api.post('/fire', async (req: Request, res: Response) => {
    const body = objectBody(req);
    if (typeof body.scenario !== 'string') throw badRequest('Name a scenario: {"scenario": "...", "careSetting": "as-recorded"}.', ['scenario']);
    const careSetting = body.careSetting ?? 'as-recorded';
    if (!isCareSettingChoice(careSetting)) throw badRequest(`careSetting must be one of ${CARE_SETTING_CHOICES.join(', ')}.`, ['careSetting']);
    const result = await ehr.fire(selfBaseUrl(req), body.scenario, careSetting);
    log({ event: 'card-view', action: 'fire', scenario: result.scenario.name, careSetting, status: result.status });
    res.json(result);
  });
  api.post('/feedback', async (req: Request, res: Response) => {
    const result = await ehr.feedback(selfBaseUrl(req), feedbackChoice(objectBody(req)));
    log({ event: 'card-view', action: 'feedback', status: result.status });
    res.json(result);
  });
  router.use('/api', api);
  return router;
}

function objectBody(req: Request): Record<string, unknown> {
  const body: unknown = req.body;
  if (body === null || typeof body !== 'object' || Array.isArray(body)) throw badRequest('Send a JSON object.');
  return body as Record<string, unknown>;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function feedbackChoice(body: Record<string, unknown>): FeedbackChoice {
  const { card, outcome, reason, userComment, suggestion } = body;
  if (typeof card !== 'string' || !UUID.test(card)) throw badRequest('card must be the uuid of a card.', ['card']);
  if (outcome !== 'overridden' && outcome !== 'accepted') throw badRequest('outcome must be "overridden" or "accepted".', ['outcome']);
  if (reason !== undefined && typeof reason !== 'string') throw badRequest('reason must be an override reason code.', ['reason']);
  if (userComment !== undefined && (typeof userComment !== 'string' || userComment.length > 500)) {
    throw badRequest('userComment must be text of at most 500 characters.', ['userComment']);
  }
  if (suggestion !== undefined && (typeof suggestion !== 'string' || !UUID.test(suggestion))) {
    throw badRequest('suggestion must be the uuid of a suggestion.', ['suggestion']);
  }
  return {
    card,
    outcome,
    ...(reason !== undefined ? { reason } : {}),
    ...(userComment !== undefined ? { userComment } : {}),
    ...(suggestion !== undefined ? { suggestion } : {}),
  };
}

/**
 * The service's own base URL, from the socket the page's request arrived on (never from the Host
 * header, which the client chooses): the card view calls the service it is part of, and nothing else.
 */
function selfBaseUrl(req: Request): string {
  const address = req.socket.localAddress ?? '127.0.0.1';
  const host = address.startsWith('::ffff:') ? address.slice('::ffff:'.length) : address.includes(':') ? `[${address}]` : address;
  return `http://${host}:${req.socket.localPort ?? 0}`;
}

/**
 * The service answers CORS for any origin (browser CDS clients); the card view's API is for its
 * own page only, so another site's page may not make it fire hooks or send feedback.
 */
function sameOriginOnly(req: Request, _res: Response, next: NextFunction): void {
  const origin = req.get('origin');
  const site = req.get('sec-fetch-site');
  let sameOrigin = site === undefined || site === 'same-origin' || site === 'none';
  if (origin !== undefined) {
    try {
      sameOrigin &&= new URL(origin).host === req.get('host');
    } catch {
      sameOrigin = false;
    }
  }
  if (!sameOrigin) {
    next(new HttpError(403, operationOutcome('forbidden', 'The card view API answers its own page only.')));
    return;
  }
  next();
}
