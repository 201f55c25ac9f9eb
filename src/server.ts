import { loadConfig } from './config.js';
import { createApp } from './http/app.js';
import { loadPolicyCatalog, PolicyLoadError } from './policy/load.js';

/** Starts the service: loads and checks the policies (a bad file stops start-up), then listens. */
function main(): void {
  const config = loadConfig();
  let catalog;
  try {
    catalog = loadPolicyCatalog(config.policyDir);
  } catch (error) {
    console.error(error instanceof PolicyLoadError ? error.message : `Cannot load policies: ${String(error)}`);
    process.exit(1);
  }
  const app = createApp({
    catalog,
    fhirTimeoutMs: config.fhirTimeoutMs,
    bodyLimit: config.bodyLimit,
    log: (event) => console.log(JSON.stringify({ time: new Date().toISOString(), ...event })),
  });
  const server = app.listen(config.port, () => {
    console.log(
      JSON.stringify({ event: 'listening', port: config.port, policies: catalog.policies.map((p) => p.id), discovery: `http://localhost:${config.port}/cds-services` }),
    );
  });
  const stop = () => server.close(() => process.exit(0));
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

main();
