import type { Server } from 'node:http';
import { pathToFileURL } from 'node:url';
import { clientAuthenticator, trustedIssuers } from './auth/setup.js';
import { TrustedIssuersError } from './auth/trusted-issuers.js';
import { loadConfig, type ServiceConfig } from './config.js';
import { FhirServerAllowlist } from './fhir/allowlist.js';
import { boundedDispatcher } from './fhir/capped-fetch.js';
import { createApp, type AppOptions } from './http/app.js';
import { answerClientErrors } from './http/client-errors.js';
import { loadPolicyCatalog, PolicyLoadError } from './policy/load.js';

/**
 * Loads and checks the policies (a bad file throws PolicyLoadError naming the file and JSON path),
 * then listens. Resolves once the service accepts connections.
 */
export async function startServer(config: ServiceConfig, log: (event: Record<string, unknown>) => void): Promise<Server> {
  const catalog = loadPolicyCatalog(config.policyDir);
  const outbound = boundedDispatcher({ maxResponseBytes: config.outboundMaxResponseBytes, connectTimeoutMs: config.fhirTimeoutMs });
  const options: AppOptions = {
    catalog,
    fhirTimeoutMs: config.fhirTimeoutMs,
    bodyLimit: config.bodyLimit,
    log,
    fhirAllowlist: new FhirServerAllowlist(config.fhirAllowlist),
    outbound,
  };
  if (config.cardView) {
    options.cardView = { devKeyDir: config.devKeyDir, ...(config.publicBaseUrl ? { publicBaseUrl: config.publicBaseUrl } : {}) };
  }
  if (config.auth === 'required') {
    const { issuers, source } = await trustedIssuers(config);
    options.auth = { authenticator: clientAuthenticator(issuers, outbound), ...(config.publicBaseUrl ? { publicBaseUrl: config.publicBaseUrl } : {}) };
    log({ event: 'auth', mode: 'required', issuers: issuers.map((i) => i.iss), source, publicBaseUrl: config.publicBaseUrl ?? '(from each request)' });
  } else {
    log({ event: 'auth', mode: 'off', warning: 'CDS_AUTH=off: ANY caller is accepted without a JWT. Development only; never expose this service.' });
    console.warn('\n*** WARNING: CDS_AUTH=off: client authentication is DISABLED. Development only. ***\n');
  }
  log({ event: 'fhir-allowlist', prefixes: config.fhirAllowlist });
  const app = createApp(options);
  return await new Promise<Server>((resolve, reject) => {
    const server = app.listen(config.port, () => {
      log({ event: 'listening', port: config.port, policies: catalog.policies.map((p) => p.id) });
      resolve(server);
    });
    server.on('error', reject);
    answerClientErrors(server);
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
    const known = error instanceof PolicyLoadError || error instanceof TrustedIssuersError;
    console.error(known ? error.message : `Cannot start: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) void main();
