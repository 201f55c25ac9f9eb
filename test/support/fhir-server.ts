/**
 * A loopback FHIR R4 server for tests: reads, a few searches, and misbehaving modes
 * (500, HTML, OperationOutcome instead of data, no answer at all, redirect).
 * Only what the CRD service asks a client's FHIR server for is implemented.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { Bundle, OperationOutcome, Resource } from 'fhir/r4.js';
import { loadFixtures, searchset } from './fixtures.js';

export type FhirServerMode = 'ok' | 'status-500' | 'non-json' | 'operation-outcome' | 'hang' | 'redirect';

export interface FhirServerOptions {
  /** What the server holds; defaults to every fixture under `fhir-resources/`. */
  resources?: Resource[];
  /** Delay before every answer, in milliseconds. */
  delayMs?: number;
  /** How the server behaves; `ok` by default. */
  mode?: FhirServerMode;
  /** `Location` of the 302 in `redirect` mode, sent as given (default: a closed local port). */
  redirectTo?: string;
  /**
   * Whether test apps may query it (default true): its base URL joins `allowedTestServers`, which
   * the test apps' FHIR allowlist is built from. `false` gives a server the service must never call.
   */
  allowed?: boolean;
}

/** Base URLs of the loopback servers started with `allowed` (the default) in this test file. */
export const allowedTestServers = new Set<string>();

export interface RecordedRequest {
  method: string;
  /** Path and query exactly as received, e.g. `/fhir/Coverage?patient=pat-anna`. */
  url: string;
  authorization?: string;
}

export interface TestFhirServer {
  /** `http://127.0.0.1:<port>/fhir`, without a trailing slash. */
  baseUrl: string;
  /** Every request received, in order of arrival (also in `hang` mode). */
  requests: RecordedRequest[];
  /** Stops listening and destroys open connections, so it returns promptly even in `hang` mode. */
  close(): Promise<void>;
}

const FHIR_JSON = 'application/fhir+json; charset=utf-8';
/** Port 9 (discard) is closed on test machines: following the redirect fails fast. */
const DEFAULT_REDIRECT = 'http://127.0.0.1:9/fhir';

type Loose = Record<string, unknown>;

/** Search parameters that point at the patient, and where each looks in a resource. */
const PATIENT_PARAMS: Record<string, (r: Loose) => unknown[]> = {
  patient: (r) => [r.beneficiary, r.subject, r.patient, ...asArray(r.participant).map((p) => (p as Loose | undefined)?.actor)],
  beneficiary: (r) => [r.beneficiary],
  subject: (r) => [r.subject],
};

/** Supported `_include` values and the references each follows. Others are ignored. */
const INCLUDES: Record<string, (r: Loose) => unknown[]> = {
  'Coverage:payor': (r) => asArray(r.payor),
  'Coverage:beneficiary': (r) => [r.beneficiary],
  'Encounter:patient': (r) => [r.subject],
  'ServiceRequest:patient': (r) => [r.subject],
  'ServiceRequest:subject': (r) => [r.subject],
  'ServiceRequest:requester': (r) => [r.requester],
  'ServiceRequest:performer': (r) => asArray(r.performer),
};

export async function startFhirServer(opts: FhirServerOptions = {}): Promise<TestFhirServer> {
  const mode = opts.mode ?? 'ok';
  const delayMs = opts.delayMs ?? 0;
  const store = new Map<string, Resource>();
  for (const r of opts.resources ?? loadFixtures().values()) store.set(`${r.resourceType}/${r.id ?? ''}`, r);

  const requests: RecordedRequest[] = [];
  const sockets = new Set<Socket>();
  const timers = new Set<NodeJS.Timeout>();
  let baseUrl = '';

  const answer = (req: IncomingMessage, res: ServerResponse): void => {
    switch (mode) {
      case 'status-500':
        return sendFhir(res, 500, outcome('exception', 'Simulated internal server error'));
      case 'non-json':
        res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
        res.end('<!DOCTYPE html><html><head><title>Sign in</title></head><body><h1>Session expired</h1></body></html>');
        return;
      case 'operation-outcome':
        return sendFhir(res, 200, outcome('processing', 'Simulated: an OperationOutcome instead of the requested data'));
      case 'redirect':
        res.writeHead(302, { location: opts.redirectTo ?? DEFAULT_REDIRECT, 'content-length': '0' });
        res.end();
        return;
      case 'hang':
        return; // never answered; close() destroys the socket
      case 'ok':
        return route(req, res, store, baseUrl);
    }
  };

  const server = createServer((req, res) => {
    const recorded: RecordedRequest = { method: req.method ?? '', url: req.url ?? '' };
    if (req.headers.authorization !== undefined) recorded.authorization = req.headers.authorization;
    requests.push(recorded);
    req.resume(); // bodies are never read; drain them
    if (delayMs <= 0) return answer(req, res);
    const timer = setTimeout(() => {
      timers.delete(timer);
      answer(req, res);
    }, delayMs);
    timers.add(timer);
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });

  await new Promise<void>((resolveListen, rejectListen) => {
    server.once('error', rejectListen);
    server.listen(0, '127.0.0.1', () => resolveListen());
  });
  const { port } = server.address() as AddressInfo;
  baseUrl = `http://127.0.0.1:${port}/fhir`;
  if (opts.allowed ?? true) allowedTestServers.add(baseUrl);

  return {
    baseUrl,
    requests,
    close: () =>
      new Promise<void>((resolveClose) => {
        for (const timer of timers) clearTimeout(timer);
        timers.clear();
        for (const socket of sockets) socket.destroy();
        // Resolves on a second close too (the callback then gets ERR_SERVER_NOT_RUNNING).
        server.close(() => resolveClose());
      }),
  };
}

function route(req: IncomingMessage, res: ServerResponse, store: Map<string, Resource>, baseUrl: string): void {
  if (req.method !== 'GET') {
    return sendFhir(res, 405, outcome('not-supported', `${req.method ?? ''} is not supported by this test server`));
  }
  const url = new URL(req.url ?? '/', 'http://127.0.0.1');
  if (url.pathname !== '/fhir' && !url.pathname.startsWith('/fhir/')) {
    return sendFhir(res, 404, outcome('not-found', `No FHIR endpoint at ${url.pathname}`));
  }
  const parts = url.pathname.slice('/fhir'.length).split('/').filter((p) => p !== '').map(decodeURIComponent);
  const [type, id] = parts;
  if (type === undefined || parts.length > 2 || !/^[A-Z][A-Za-z]+$/.test(type)) {
    return sendFhir(res, 404, outcome('not-found', `Unknown FHIR interaction: ${url.pathname}`));
  }
  if (id !== undefined) {
    const found = store.get(`${type}/${id}`);
    return found ? sendFhir(res, 200, found) : sendFhir(res, 404, outcome('not-found', `Resource ${type}/${id} is not known`));
  }
  sendFhir(res, 200, search(type, url.searchParams, store, baseUrl, `${baseUrl}/${type}${url.search}`));
}

/** Type-level search: `_id`, `patient`, `beneficiary`, `subject`, `status` (AND across params, OR within a comma list), `_include`. */
function search(type: string, params: URLSearchParams, store: Map<string, Resource>, baseUrl: string, self: string): Bundle {
  let matches = [...store.values()].filter((r) => r.resourceType === type);
  for (const [name, raw] of params) {
    const values = raw.split(',').map((v) => v.trim()).filter((v) => v !== '');
    const patientParam = PATIENT_PARAMS[name];
    if (name === '_id') matches = matches.filter((r) => values.includes(r.id ?? ''));
    else if (name === 'status') matches = matches.filter((r) => values.includes(String(loose(r).status)));
    else if (patientParam) matches = matches.filter((r) => patientParam(loose(r)).some((ref) => pointsToPatient(ref, values)));
    // every other parameter (_count, _sort, _include, modifiers...) does not filter
  }

  const included = new Map<string, Resource>();
  for (const include of params.getAll('_include')) {
    const follow = INCLUDES[include];
    if (!follow || !include.startsWith(`${type}:`)) continue;
    for (const match of matches) {
      for (const target of follow(loose(match))) {
        const key = localKey(referenceOf(target), baseUrl);
        const resource = key === undefined ? undefined : store.get(key);
        if (key !== undefined && resource && !matches.includes(resource)) included.set(key, resource);
      }
    }
  }

  const bundle = searchset(matches, [...included.values()], baseUrl);
  bundle.link = [{ relation: 'self', url: self }];
  return bundle;
}

function pointsToPatient(reference: unknown, wanted: string[]): boolean {
  const ref = referenceOf(reference);
  if (ref === undefined) return false;
  return wanted.some((w) => {
    const target = w.includes('/') ? w : `Patient/${w}`;
    return ref === target || ref.endsWith(`/${target}`);
  });
}

/** `Type/id` for a relative or absolute reference to this server; undefined for `#contained`, logical or foreign references. */
function localKey(reference: string | undefined, baseUrl: string): string | undefined {
  if (reference === undefined || reference.startsWith('#')) return undefined;
  const relativeRef = reference.startsWith(`${baseUrl}/`) ? reference.slice(baseUrl.length + 1) : reference;
  return /^[A-Z][A-Za-z]+\/[A-Za-z0-9\-.]{1,64}$/.test(relativeRef) ? relativeRef : undefined;
}

/** Resources are read generically here: the search parameters span several resource types. */
function loose(resource: Resource): Loose {
  return resource as unknown as Loose;
}

function referenceOf(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const { reference } = value as { reference?: unknown };
  return typeof reference === 'string' ? reference : undefined;
}

function asArray(value: unknown): unknown[] {
  if (value === undefined || value === null) return [];
  return Array.isArray(value) ? value : [value];
}

function outcome(code: 'exception' | 'not-found' | 'not-supported' | 'processing', diagnostics: string): OperationOutcome {
  return { resourceType: 'OperationOutcome', issue: [{ severity: 'error', code, diagnostics }] };
}

function sendFhir(res: ServerResponse, status: number, body: Resource): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': FHIR_JSON, 'content-length': Buffer.byteLength(text) });
  res.end(text);
}
