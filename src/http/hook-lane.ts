import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import bytes from 'bytes';
import { bodyTooLarge, invalidJson, type HttpError } from './errors.js';

/** A connect-style middleware as Express, helmet and cors define them. */
type Middleware = (req: IncomingMessage, res: ServerResponse, next: (error?: unknown) => void) => void;

/**
 * The headers a chain of middlewares sets on every answer (security headers, CORS), read once by
 * running them against a recording response. Only middlewares whose headers do not depend on the
 * request belong here (helmet, and cors with `origin: '*'`); one that answers by itself or calls
 * next later is refused at start-up.
 */
export function headersSetBy(middlewares: readonly Middleware[], method = 'POST'): OutgoingHttpHeaders {
  const headers = new Map<string, { name: string; value: number | string | string[] }>();
  const res = {
    setHeader: (name: string, value: number | string | string[]) => {
      headers.set(name.toLowerCase(), { name, value });
      return res;
    },
    getHeader: (name: string) => headers.get(name.toLowerCase())?.value,
    hasHeader: (name: string) => headers.has(name.toLowerCase()),
    removeHeader: (name: string) => void headers.delete(name.toLowerCase()),
    end: () => {
      throw new Error('a middleware answered by itself: its headers are not static');
    },
  };
  const req = { method, url: '/', headers: {} };
  for (const middleware of middlewares) {
    let called = false;
    middleware(req as unknown as IncomingMessage, res as unknown as ServerResponse, (error?: unknown) => {
      if (error) throw error instanceof Error ? error : new Error(String(error));
      called = true;
    });
    if (!called) throw new Error('a middleware did not call next at once: its headers are not static');
  }
  return Object.fromEntries([...headers.values()].map(({ name, value }) => [name, value]));
}

export interface HookLaneOptions {
  /** The services answered, by id (`POST /cds-services/{id}`). */
  serviceIds: ReadonlySet<string>;
  /** Largest body accepted, as the Express body parser reads it ("1mb"). */
  bodyLimit: string;
  /** Headers every answer carries, as the Express middlewares set them (see {@link headersSetBy}). */
  headers: OutgoingHttpHeaders;
  /**
   * Runs before the body is read, as authentication does in front of the Express route: throws
   * (an HttpError, or anything `failure` maps) to refuse the call. Its result goes to `answer`.
   */
  admit?: (req: IncomingMessage, res: ServerResponse, path: string) => Promise<unknown>;
  /** The hook call: the parsed body in, the CDS Hooks response out. */
  answer: (serviceId: string, body: unknown, admitted: unknown) => Promise<unknown>;
  /** Any failure as the error answer the Express error handler gives (and logs) for it. */
  failure: (error: unknown, path: string) => HttpError;
}

const PREFIX = '/cds-services/';
const UTF8 = /^utf-?8$/i;
const CHARSET = /;\s*charset\s*=\s*"?([^";\s]*)/i;

/**
 * `POST /cds-services/{id}` straight on node:http: the route CDS clients call under load, where
 * Express's routing, body parsing and response helpers cost several times the service's own work
 * (docs/performance.md). It behaves as the Express route does (same headers, same limits, same
 * errors, through the same functions) and takes only the plain case: a known service, a body that
 * is identity-encoded UTF-8. Anything else it declines (`serve` returns false) and Express answers.
 */
export class HookLane {
  private readonly limit: number;

  constructor(private readonly options: HookLaneOptions) {
    const limit = bytes.parse(options.bodyLimit);
    if (limit === null || !Number.isFinite(limit)) throw new Error(`Not a body size: "${options.bodyLimit}"`);
    this.limit = limit;
  }

  /** Takes the request (true) or leaves it to Express (false, nothing touched). */
  serve(req: IncomingMessage, res: ServerResponse): boolean {
    if (req.method !== 'POST' || !req.url?.startsWith(PREFIX)) return false;
    const query = req.url.indexOf('?');
    const path = query === -1 ? req.url : req.url.slice(0, query);
    const serviceId = path.slice(PREFIX.length);
    if (!this.options.serviceIds.has(serviceId)) return false;
    const encoding = req.headers['content-encoding'];
    if (encoding !== undefined && encoding.toLowerCase() !== 'identity') return false;
    const charset = CHARSET.exec(req.headers['content-type'] ?? '')?.[1];
    if (charset !== undefined && !UTF8.test(charset)) return false;
    if (req.headers['content-length'] === undefined && req.headers['transfer-encoding'] === undefined) return false;
    void this.handle(req, res, serviceId, path);
    return true;
  }

  private async handle(req: IncomingMessage, res: ServerResponse, serviceId: string, path: string): Promise<void> {
    try {
      const admitted = this.options.admit ? await this.options.admit(req, res, path) : undefined;
      const body = parse(await this.read(req));
      const response = await this.options.answer(serviceId, body, admitted);
      this.send(res, 200, 'application/json; charset=utf-8', JSON.stringify(response));
    } catch (error) {
      const answer = this.options.failure(error, path);
      this.send(res, answer.status, 'application/fhir+json; charset=utf-8', JSON.stringify(answer.outcome));
    }
  }

  private send(res: ServerResponse, status: number, contentType: string, text: string): void {
    if (res.headersSent || res.destroyed) return;
    res.writeHead(status, { ...this.options.headers, 'Content-Type': contentType, 'Content-Length': Buffer.byteLength(text) });
    res.end(text);
  }

  /** The body as text, within the limit (checked on the declared length first, then as it arrives). */
  private read(req: IncomingMessage): Promise<string> {
    return new Promise((resolve, reject) => {
      const declared = Number(req.headers['content-length']);
      if (declared > this.limit) {
        req.pause();
        return reject(bodyTooLarge(this.options.bodyLimit));
      }
      const chunks: Buffer[] = [];
      let size = 0;
      const onData = (chunk: Buffer) => {
        size += chunk.length;
        if (size > this.limit) {
          req.off('data', onData);
          req.pause();
          reject(bodyTooLarge(this.options.bodyLimit));
        } else chunks.push(chunk);
      };
      req.on('data', onData);
      req.once('end', () => resolve(Buffer.concat(chunks, size).toString('utf8')));
      // An aborted upload is the client's failure, as the Express body parser reports it (a 400).
      req.once('error', () => reject(Object.assign(new Error('request aborted'), { status: 400, type: 'request.aborted' })));
    });
  }
}

/** JSON as the Express body parser reads it here: any JSON value, a byte-order mark ignored, an empty body as {}. */
function parse(text: string): unknown {
  const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  if (body.length === 0) return {};
  try {
    return JSON.parse(body);
  } catch {
    throw invalidJson();
  }
}
