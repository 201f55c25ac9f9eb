/**
 * The service is started three ways: `npm start`, the Docker image, and the bench (which must
 * measure what ships). Their node flags (docs/performance.md: a smaller young generation) must be
 * the same, or the bench's memory figures would describe a process nobody runs.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { projectRoot } from './support/fixtures.js';

const startScript = (JSON.parse(readFileSync(join(projectRoot, 'package.json'), 'utf8')) as { scripts: { start: string } }).scripts.start;

function dockerCmd(): string[] {
  const line = readFileSync(join(projectRoot, 'Dockerfile'), 'utf8')
    .split('\n')
    .find((l) => l.startsWith('CMD '));
  return JSON.parse(line!.slice('CMD '.length)) as string[];
}

test('npm start runs the built server with the young-generation cap measured in docs/performance.md', () => {
  expect(startScript).toBe('node --max-semi-space-size=4 dist/src/server.js');
});

test('the Docker image runs the same command as npm start', () => {
  expect(dockerCmd().join(' ')).toBe(startScript);
});

test('the bench starts the service with the flags of npm start', () => {
  const script = `import { shippedNodeArgs } from './bench/lib/processes.mjs'; process.stdout.write(JSON.stringify(shippedNodeArgs('package.json')));`;
  const args = JSON.parse(execFileSync(process.execPath, ['--input-type=module', '-e', script], { cwd: projectRoot, encoding: 'utf8' })) as string[];
  expect(['node', ...args, 'dist/src/server.js'].join(' ')).toBe(startScript);
  expect(args).toEqual(['--max-semi-space-size=4']);
});

test('Node accepts the flag (a typo would only show at start-up)', () => {
  const out = execFileSync(process.execPath, ['--max-semi-space-size=4', '-e', 'process.stdout.write("ok")'], { encoding: 'utf8' });
  expect(out).toBe('ok');
});
