/**
 * Watches everything the service logs during a test file for secrets and PHI: any JWT, any
 * `fhirAuthorization.access_token` a test sent, and any patient name from the fixtures or from a
 * request a test sent. `test/support/log-scan-setup.ts` fails the file if anything leaked.
 */
import type { HumanName, Patient } from 'fhir/r4.js';
import { createLogger, type Logger } from '../../src/http/logging.js';
import { loadFixtures } from './fixtures.js';

/** A JWS compact serialisation: base64url header starting `{"` (eyJ), payload, signature. */
const JWT = /eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*/;

const secrets = new Set<string>();
export const leaks: string[] = [];

function namesOf(patient: Patient): string[] {
  return (patient.name ?? []).flatMap((n: HumanName) => [n.family, ...(n.given ?? []), n.text]).filter((s): s is string => typeof s === 'string' && s.length >= 3);
}

for (const resource of loadFixtures().values()) if (resource.resourceType === 'Patient') for (const name of namesOf(resource as Patient)) secrets.add(name);

/** Registers what a request carries that must never be logged: its access token and patient names. */
export function registerRequestSecrets(body: unknown): void {
  const seen = new Set<unknown>();
  const walk = (value: unknown, depth: number): void => {
    if (depth > 12 || value === null || typeof value !== 'object' || seen.has(value)) return;
    seen.add(value);
    const record = value as Record<string, unknown>;
    if (typeof record.access_token === 'string' && record.access_token.length >= 6) secrets.add(record.access_token);
    if (record.resourceType === 'Patient' && Array.isArray(record.name)) {
      try {
        for (const name of namesOf(record as unknown as Patient)) secrets.add(name);
      } catch {
        // A malformed name is not a name to look for.
      }
    }
    for (const child of Object.values(record)) walk(child, depth + 1);
  };
  walk(body, 0);
}

/** What a logged line gives away, if anything. */
export function findLeaks(line: string): string[] {
  const found: string[] = [];
  if (JWT.test(line)) found.push('a JWT');
  for (const secret of secrets) if (line.includes(secret)) found.push(`"${secret}"`);
  return found;
}

/** Every log event of every test app passes through here. */
export function serviceLogSink(event: Record<string, unknown>): void {
  const line = JSON.stringify(event);
  const found = findLeaks(line);
  if (found.length > 0) leaks.push(`${found.join(', ')} in ${line.slice(0, 300)}`);
}

/**
 * A pino logger for a test app or server: every line it writes is parsed, scanned like all service
 * logs, and kept in `logs` when given, so tests can look at what was logged.
 */
export function scannedLogger(logs?: Array<Record<string, unknown>>): Logger {
  return createLogger({
    level: 'debug',
    destination: {
      write(line: string) {
        const event = JSON.parse(line) as Record<string, unknown>;
        serviceLogSink(event);
        logs?.push(event);
      },
    },
  });
}
