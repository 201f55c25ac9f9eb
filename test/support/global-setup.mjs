// Jest globalSetup: what the process-level tests need before any test file runs.
// 1. A private PostgreSQL (scripts/postgres-for-tests.sh installs Debian's package if missing and
//    starts a throw-away cluster on a free loopback port), unless CRD_TEST_DATABASE_URL names one.
//    If it cannot start, the reason goes to CRD_TEST_DATABASE_ERROR and every PostgreSQL test fails.
// 2. The built service (dist/), which the durability and shutdown tests start as a real process.
import { execFileSync } from 'node:child_process';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));

function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

export default async function globalSetup() {
  if (!process.env.CRD_TEST_DATABASE_URL) {
    const dir = join(tmpdir(), `crd-postgres-${randomUUID().slice(0, 8)}`);
    try {
      const url = execFileSync('bash', [join(root, 'scripts', 'postgres-for-tests.sh'), 'start', dir, String(await freePort())], {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'inherit'],
        timeout: 15 * 60 * 1000,
      }).trim();
      process.env.CRD_TEST_DATABASE_URL = url;
      globalThis.__crdPostgresDir = dir;
    } catch (error) {
      process.env.CRD_TEST_DATABASE_ERROR = `scripts/postgres-for-tests.sh failed: ${error instanceof Error ? error.message : String(error)}`;
    }
  }
  execFileSync(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(root, 'tsconfig.build.json')], {
    cwd: root,
    stdio: 'inherit',
  });
}
