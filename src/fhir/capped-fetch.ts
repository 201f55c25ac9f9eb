import { Agent } from 'undici';

/**
 * Outbound HTTP for FHIR servers and JWK Sets, bounded: responses larger than `maxResponseBytes`
 * are cut off (undici `maxResponseSize`) and a connection that does not open within the timeout
 * fails. Redirects are refused by the callers (`redirect: 'error'` / jose's `redirect: 'manual'`),
 * so a token or a request never travels to a host it was not meant for.
 */
export function boundedDispatcher(options: { maxResponseBytes: number; connectTimeoutMs: number }): Agent {
  return new Agent({
    maxResponseSize: options.maxResponseBytes,
    connect: { timeout: options.connectTimeoutMs },
    keepAliveTimeout: 10_000,
  });
}

/** True when `error` (or its cause) is undici's "response exceeded maxResponseSize". */
export function isResponseTooLarge(error: unknown): boolean {
  for (let e: unknown = error, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    if ((e as { code?: unknown }).code === 'UND_ERR_RES_EXCEEDED_MAX_SIZE') return true;
  }
  return false;
}
