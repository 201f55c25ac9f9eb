/**
 * Debian's Chromium driven by playwright-core, for tests that look at a page as a person does.
 * Chromium is installed by scripts/install-test-packages.sh (run by .ci/run); Playwright's own
 * browser download cannot run here. A missing Chromium fails the test run, it is never skipped.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';
import { projectRoot } from './fixtures.js';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** Screenshots are kept as test artifacts (git-ignored). */
export const screenshotDir = join(projectRoot, 'test-artifacts', 'screenshots');

/**
 * Without the background-networking switches Chromium's own connections (updates, sync, field
 * trials) are refused by this closed network and slow every start.
 */
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export interface Browser {
  context: BrowserContext;
  close(): Promise<void>;
}

export async function launchBrowser(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`No Chromium at ${CHROMIUM}: run scripts/install-test-packages.sh (Debian's chromium package).`);
  }
  mkdirSync(screenshotDir, { recursive: true });
  const userDataDir = mkdtempSync(join(tmpdir(), 'crd-chromium-'));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_ARGS,
    viewport: { width: 1440, height: 900 },
  });
  return {
    context,
    close: async () => {
      await context.close();
      rmSync(userDataDir, { recursive: true, force: true });
    },
  };
}

/** Compiles the card view's browser code (card-view/tsconfig.json) into dist/card-view, as `npm run build` does. */
export function buildCardViewScripts(): void {
  execFileSync(process.execPath, [join(projectRoot, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(projectRoot, 'card-view', 'tsconfig.json')], {
    cwd: projectRoot,
    stdio: 'pipe',
  });
}
