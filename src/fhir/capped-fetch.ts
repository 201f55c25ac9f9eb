import { Agent, type Dispatcher } from 'undici';

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

const TOO_LARGE = 'UND_ERR_RES_EXCEEDED_MAX_SIZE';

/**
 * The shared dispatcher, seen through a window that notes whether one of its responses was cut off
 * for size. fetch reports that only as "terminated" (and may drop the cause), so the note is taken
 * where undici raises it. One per hook call; the connection pool stays shared.
 */
export function watchingSize(dispatcher: Dispatcher): { dispatcher: Dispatcher; tooLarge: () => boolean } {
  let tooLarge = false;
  const watched = dispatcher.compose((dispatch) => (options, handler) =>
    dispatch(
      options,
      new Proxy(handler, {
        get(target, property) {
          const value: unknown = Reflect.get(target, property, target);
          if (typeof value !== 'function') return value;
          if (property !== 'onError') return value.bind(target);
          return (error: Error & { code?: string }) => {
            if (error?.code === TOO_LARGE) tooLarge = true;
            return (value as (e: Error) => void).call(target, error);
          };
        },
      }),
    ),
  );
  return { dispatcher: watched, tooLarge: () => tooLarge };
}
