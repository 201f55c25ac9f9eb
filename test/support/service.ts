/** The whole service as `npm start` runs it (startServer), on an ephemeral port and a throwaway data folder. */
import { mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig, type ServiceConfig } from '../../src/config.js';
import { startServer, type RunningService } from '../../src/server.js';
import { scannedLogger } from './log-scan.js';

export interface TestService {
  service: RunningService;
  /** `http://127.0.0.1:<port>` */
  base: string;
  stop(): Promise<void>;
}

export async function startTestService(env: NodeJS.ProcessEnv = {}, overrides: Partial<ServiceConfig> = {}): Promise<TestService> {
  const dataDir = mkdtempSync(join(tmpdir(), 'crd-data-'));
  const service = await startServer({ ...loadConfig(env), port: 0, ...overrides, dataDir }, scannedLogger());
  return {
    service,
    base: `http://127.0.0.1:${(service.server.address() as AddressInfo).port}`,
    stop: async () => {
      await service.stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
