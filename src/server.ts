import type { Server } from 'node:http';
import { pathToFileURL } from 'node:url';
import { loadConfig, type ServiceConfig } from './config.js';
import { createApp } from './http/app.js';
import { loadPolicyCatalog, PolicyLoadError } from './policy/load.js';

/**
 * Loads and checks the policies (a bad file throws PolicyLoadError naming the file and JSON path),
 * then listens. Resolves once the service accepts connections.
 */
export async function startServer(config: ServiceConfig, log: (event: Record<string, unknown>) => void): Promise<Server> {
  const catalog = loadPolicyCatalog(config.policyDir);
  const app = createApp({
    catalog,
    fhirTimeoutMs: config.fhirTimeoutMs,
    bodyLimit: config.bodyLimit,
    log,
    ...(config.cardView ? { cardView: {} } : {}),
  });
  return await new Promise<Server>((resolve, reject) => {
    const server = app.listen(config.port, () => {
      log({ event: 'listening', port: config.port, policies: catalog.policies.map((p) => p.id) });
      resolve(server);
    });
    server.on('error', reject);
  });
}

async function main(): Promise<void> {
  const log = (event: Record<string, unknown>) => console.log(JSON.stringify({ time: new Date().toISOString(), ...event }));
  try {
    const server = await startServer(loadConfig(), log);
    const stop = () => server.close(() => process.exit(0));
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
  } catch (error) {
    console.error(error instanceof PolicyLoadError ? error.message : `Cannot start: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) void main();
