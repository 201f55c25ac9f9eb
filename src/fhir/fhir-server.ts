import { Client } from 'fhir-kit-client';
import type { Bundle, FhirResource } from 'fhir/r4.js';
import type { Dispatcher } from 'undici';
import { watchingSize } from './capped-fetch.js';
import { isBundle, isOperationOutcome, isResource } from './references.js';

export type FhirFailure = 'timeout' | 'unreachable' | 'too-large' | 'http-status' | 'not-json' | 'operation-outcome' | 'not-found' | 'invalid';

/** Why the EHR's FHIR server could not give what was asked; never carries the access token. */
export class FhirAccessError extends Error {
  constructor(
    readonly failure: FhirFailure,
    message: string,
  ) {
    super(message);
    this.name = 'FhirAccessError';
  }
}

/** Told the time and outcome of every query (the FHIR query metrics); never the URL or the token. */
export type FhirObserver = (query: { operation: 'read' | 'search'; resourceType: string; seconds: number; failure?: FhirFailure }) => void;

/**
 * The EHR's FHIR server as the request named it (`fhirServer` + `fhirAuthorization`), read with
 * fhir-kit-client. Every query of one hook call shares one deadline, so they run in parallel
 * within a budget well inside CRD's 5-second target. The bearer token goes only to this server.
 */
export class FhirServer {
  private readonly client: Client;
  private readonly tooLarge: () => boolean;

  constructor(
    readonly baseUrl: string,
    accessToken: string | undefined,
    private readonly signal: AbortSignal,
    dispatcher: Dispatcher,
    private readonly observe: FhirObserver = () => undefined,
  ) {
    const watched = watchingSize(dispatcher);
    this.tooLarge = watched.tooLarge;
    this.client = new Client({
      baseUrl,
      // Never follow redirects: the token must not travel to another host. The dispatcher caps
      // the size of what the server may send back (fetch accepts undici's `dispatcher`).
      requestOptions: { redirect: 'error', dispatcher: watched.dispatcher },
      ...(accessToken ? { bearerToken: accessToken } : {}),
    });
  }

  private failure(error: unknown, what: string): FhirAccessError {
    if (error instanceof FhirAccessError) return error;
    if (this.signal.aborted) return new FhirAccessError('timeout', `${what}: no answer before the deadline`);
    if (this.tooLarge()) return new FhirAccessError('too-large', `${what}: the answer was larger than this service accepts`);
    const response = (error as { response?: { status?: number; data?: unknown } }).response;
    if (response?.status !== undefined) {
      if (response.status === 404) return new FhirAccessError('not-found', `${what}: not found`);
      if (response.status < 400) return new FhirAccessError('not-json', `${what}: the answer was not JSON`);
      return new FhirAccessError('http-status', `${what}: HTTP ${response.status}`);
    }
    return new FhirAccessError('unreachable', `${what}: the FHIR server could not be reached`);
  }

  /** Runs one query, telling the observer how long it took and how it failed, if it did. */
  private async timed<T>(operation: 'read' | 'search', resourceType: string, what: string, query: () => Promise<T>): Promise<T> {
    const started = performance.now();
    try {
      const result = await query();
      this.observe({ operation, resourceType, seconds: (performance.now() - started) / 1000 });
      return result;
    } catch (error) {
      const failure = this.failure(error, what);
      this.observe({ operation, resourceType, seconds: (performance.now() - started) / 1000, failure: failure.failure });
      throw failure;
    }
  }

  read(resourceType: string, id: string): Promise<FhirResource> {
    const what = `read ${resourceType}/${id}`;
    return this.timed('read', resourceType, what, async () => {
      const result: unknown = await this.client.read({ resourceType, id, options: { signal: this.signal } });
      if (isOperationOutcome(result)) throw new FhirAccessError('operation-outcome', `${what}: the server answered with an OperationOutcome`);
      if (!isResource(result) || result.resourceType !== resourceType) throw new FhirAccessError('invalid', `${what}: the answer is not a ${resourceType}`);
      return result;
    });
  }

  search(resourceType: string, searchParams: Record<string, string>): Promise<Bundle> {
    const what = `search ${resourceType}`;
    return this.timed('search', resourceType, what, async () => {
      const result: unknown = await this.client.search({ resourceType, searchParams, options: { signal: this.signal } });
      if (isOperationOutcome(result)) throw new FhirAccessError('operation-outcome', `${what}: the server answered with an OperationOutcome`);
      if (!isBundle(result)) throw new FhirAccessError('invalid', `${what}: the answer is not a Bundle`);
      return result;
    });
  }
}
