import { createServer, type Server } from 'node:http';
import { pathToFileURL } from 'node:url';
import { clientAuthenticator, trustedIssuers } from './auth/setup.js';
import { TrustedIssuersError } from './auth/trusted-issuers.js';
import { loadConfig, type ServiceConfig } from './config.js';
import { FhirServerAllowlist } from './fhir/allowlist.js';
import { boundedDispatcher } from './fhir/capped-fetch.js';
import { createApp, type AppOptions, type ServiceApp } from './http/app.js';
import { answerClientErrors } from './http/client-errors.js';
import { createLogger, type Logger } from './http/logging.js';
import { ServiceMetrics } from './http/metrics.js';
import { markDraining } from './http/operations.js';
import { loadPolicyCatalog, PolicyLoadError } from './policy/load.js';
import { openRecordStore } from './records/open.js';
import type { RecordStore } from './records/store.js';

const DAY_MS = 24 * 60 * 60 * 1000;

/**
 * How long an idle keep-alive connection stays open. Node's default (5 s) is shorter than the idle
 * timeout of common load balancers (60 s) and close to what HTTP clients reuse a connection for: a
 * client then sends a request on a socket the service is closing and gets a reset instead of an
 * answer. Longer than a load balancer's idle timeout, so the balancer closes first. Idle
 * connections are closed at once on shutdown (closeServer), so this does not delay a drain.
 */
export const KEEP_ALIVE_TIMEOUT_MS = 65_000;
const PRUNE_EVERY_MS = 60 * 60 * 1000;

export interface RunningService {
  server: Server;
  app: ServiceApp;
  records: RecordStore;
  /** Graceful stop: not ready, no new connections, requests in flight finish (until the deadline), then the database closes. */
  stop(): Promise<void>;
}

/** Deletes audit entries past the retention period and expired jti entries, now and every hour. */
function startPruning(records: RecordStore, retentionDays: number, log: Logger): NodeJS.Timeout {
  const prune = () => {
    records
      .prune(new Date(Date.now() - retentionDays * DAY_MS).toISOString(), Date.now())
      .then((deleted) => log.info({ event: 'prune', retentionDays, ...deleted }))
      .catch((error: unknown) => log.error({ event: 'prune-failed', error: error instanceof Error ? error.name : 'unknown' }));
  };
  prune();
  return setInterval(prune, PRUNE_EVERY_MS).unref();
}

/** Stops accepting connections and resolves when every request in flight has been answered, or at the deadline. */
function closeServer(server: Server, deadlineMs: number): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => server.closeAllConnections(), deadlineMs).unref();
    server.close(() => {
      clearTimeout(timer);
      resolve();
    });
    server.closeIdleConnections();
  });
}

/**
 * The composition root. Loads and checks the policies (a bad file throws PolicyLoadError naming the
 * file and JSON path), opens the records database and brings its schema up to date, then listens.
 * Resolves once the service accepts connections.
 */
export async function startServer(config: ServiceConfig, log: Logger): Promise<RunningService> {
  const catalog = loadPolicyCatalog(config.policyDir);
  const records = await openRecordStore(config);
  try {
    const outbound = boundedDispatcher({ maxResponseBytes: config.outboundMaxResponseBytes, connectTimeoutMs: config.fhirTimeoutMs });
    const options: AppOptions = {
      catalog,
      fhirTimeoutMs: config.fhirTimeoutMs,
      bodyLimit: config.bodyLimit,
      records,
      logger: log,
      metrics: new ServiceMetrics({ processMetrics: true }),
      auditFullResources: config.auditFullResources,
      ...(config.metricsToken ? { metricsToken: config.metricsToken } : {}),
      fhirAllowlist: new FhirServerAllowlist(config.fhirAllowlist),
      outbound,
    };
    if (config.cardView) {
      options.cardView = { devKeyDir: config.devKeyDir, ...(config.publicBaseUrl ? { publicBaseUrl: config.publicBaseUrl } : {}) };
    }
    if (config.auth === 'required') {
      const { issuers, source } = await trustedIssuers(config);
      // The jti replay cache lives in the database, so a token cannot be replayed against another instance.
      options.auth = { authenticator: clientAuthenticator(issuers, outbound, records), ...(config.publicBaseUrl ? { publicBaseUrl: config.publicBaseUrl } : {}) };
      log.info({ event: 'auth', mode: 'required', issuers: issuers.map((i) => i.iss), source, publicBaseUrl: config.publicBaseUrl ?? '(from each request)' });
    } else {
      log.warn({ event: 'auth', mode: 'off', warning: 'CDS_AUTH=off: ANY caller is accepted without a JWT. Development only; never expose this service.' });
      console.warn('\n*** WARNING: CDS_AUTH=off: client authentication is DISABLED. Development only. ***\n');
    }
    log.info({ event: 'fhir-allowlist', prefixes: config.fhirAllowlist });
    log.info({ event: 'records', engine: records.engine, ...(records.engine === 'sqlite' ? { dataDir: config.dataDir } : {}), auditRetentionDays: config.auditRetentionDays, auditFullResources: config.auditFullResources });
    const app = createApp(options);
    const server = await new Promise<Server>((resolve, reject) => {
      const listening = createServer({ keepAliveTimeout: KEEP_ALIVE_TIMEOUT_MS, headersTimeout: KEEP_ALIVE_TIMEOUT_MS + 1_000 }, app);
      listening.listen(config.port, () => resolve(listening));
      listening.on('error', reject);
      answerClientErrors(listening);
    });
    log.info({ event: 'listening', port: config.port, policies: catalog.policies.map((p) => p.id) });
    const pruner = startPruning(records, config.auditRetentionDays, log);
    let stopping: Promise<void> | undefined;
    const stop = () =>
      (stopping ??= (async () => {
        markDraining(app.express);
        clearInterval(pruner);
        await closeServer(server, config.shutdownTimeoutMs);
        await records.close();
      })());
    return { server, app, records, stop };
  } catch (error) {
    await records.close().catch(() => undefined);
    throw error;
  }
}

async function main(): Promise<void> {
  let log: Logger;
  let config: ServiceConfig;
  try {
    config = loadConfig();
    log = createLogger({ level: config.logLevel });
  } catch (error) {
    console.error(`Cannot start: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  }
  try {
    const service = await startServer(config, log);
    const shutdown = (signal: string) => {
      log.info({ event: 'shutdown', signal, drainMs: config.shutdownTimeoutMs });
      service
        .stop()
        .then(() => {
          log.info({ event: 'stopped' });
          process.exit(0);
        })
        .catch((error: unknown) => {
          log.error({ event: 'stop-failed', error: error instanceof Error ? error.name : 'unknown' });
          process.exit(1);
        });
    };
    process.once('SIGTERM', () => shutdown('SIGTERM'));
    process.once('SIGINT', () => shutdown('SIGINT'));
  } catch (error) {
    const known = error instanceof PolicyLoadError || error instanceof TrustedIssuersError;
    console.error(known ? error.message : `Cannot start: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) void main();
