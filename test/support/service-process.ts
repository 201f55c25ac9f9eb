/**
 * The built service (dist/src/server.js, built by the Jest globalSetup) as a real process, the way
 * `npm start` runs it: for the shutdown and durability tests. Its stdout (JSON log lines) goes
 * through the log scan like every other service log.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { PUBLIC_BASE, testIssuers } from './clients.js';
import { projectRoot } from './fixtures.js';
import { serviceLogSink } from './log-scan.js';

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

export interface ServiceProcess {
  child: ChildProcess;
  baseUrl: string;
  logs: Array<Record<string, unknown>>;
  /** Resolves with the exit code (null when killed by a signal) and the signal. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Writes the trusted-issuers file for the test EHR key (so calls are signed as in production) into `dir`. */
export function issuersFile(dir: string): string {
  const file = join(dir, 'trusted-issuers.json');
  writeFileSync(file, JSON.stringify(testIssuers()));
  return file;
}

/** Starts the service with `env` (plus the test issuer and public base URL) and waits for /readyz. */
export async function startServiceProcess(env: Record<string, string>, issuers: string): Promise<ServiceProcess> {
  const port = await freePort();
  const child = spawn(process.execPath, [join(projectRoot, 'dist', 'src', 'server.js')], {
    cwd: projectRoot,
    env: { PATH: process.env.PATH ?? '', PORT: String(port), CDS_TRUSTED_ISSUERS: issuers, CDS_PUBLIC_BASE_URL: PUBLIC_BASE, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: Array<Record<string, unknown>> = [];
  let partial = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    const lines = (partial + chunk).split('\n');
    partial = lines.pop()!;
    for (const line of lines.filter((l) => l.trim() !== '')) {
      const event = JSON.parse(line) as Record<string, unknown>;
      serviceLogSink(event);
      logs.push(event);
    }
  });
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  const baseUrl = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 20_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`The service exited (${child.exitCode}): ${stderr}`);
    try {
      if ((await fetch(`${baseUrl}/readyz`)).status === 200) break;
    } catch {
      // Not listening yet.
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`The service did not become ready: ${stderr}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return { child, baseUrl, logs, exited };
}
