/**
 * The README's shell commands as a newcomer types them: `$(npm run -s token -- URL)` must expand to
 * exactly one JWT, even though the script builds first (a build message on stdout once broke the
 * README's curl with "The HTTP request could not be parsed").
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import { projectRoot } from './support/fixtures.js';

const run = promisify(execFile);

test('npm run -s token -- <url> prints one ES384 JWT for that URL and nothing else on stdout', async () => {
  const keyDir = mkdtempSync(join(tmpdir(), 'crd-devkey-'));
  try {
    const url = 'http://localhost:3000/cds-services/crd-order-sign';
    const { stdout } = await run('npm', ['run', '-s', 'token', '--', url], { cwd: projectRoot, env: { ...process.env, CDS_DEV_KEY_DIR: keyDir } });
    expect(stdout).toMatch(/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\n$/);
    const token = stdout.trim();
    expect(decodeProtectedHeader(token)).toMatchObject({ alg: 'ES384', typ: 'JWT' });
    expect(decodeJwt(token)).toMatchObject({ iss: 'urn:crd-dry-needling:dev-client', aud: url });
  } finally {
    rmSync(keyDir, { recursive: true, force: true });
  }
}, 120_000);
