// Jest globalTeardown: stops the PostgreSQL cluster globalSetup started (and deletes its folder).
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));

export default function globalTeardown() {
  const dir = globalThis.__crdPostgresDir;
  if (dir) execFileSync('bash', [join(root, 'scripts', 'postgres-for-tests.sh'), 'stop', dir], { stdio: 'inherit' });
}
