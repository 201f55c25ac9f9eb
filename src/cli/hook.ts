import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { defaultDevKeyDir, DEV_ISSUER, ensureDevKey, signDevToken } from '../auth/dev-key.js';
import { EXAMPLE_TRUSTED_ISSUERS } from '../auth/setup.js';
import { loadConfig } from '../config.js';
import { loadPolicyCatalog } from '../policy/load.js';
import { CARE_SETTING_CHOICES, isCareSettingChoice, type CareSettingChoice } from '../scenarios/care-setting-choice.js';
import { ScenarioBook, ScenarioNotFound, type CdsHooksRequestJson } from '../scenarios/scenarios.js';
import { printCards, printCoverageInformation, printOutcome } from './print.js';

const USAGE = `usage: npm run hook -- <request.json | scenario-name> [options]

Fires a CDS Hooks request at a running service and prints the cards and the coverage information.
A scenario is an example of cds-hooks/examples.json, by name or any unique part of it (e.g. B2);
when several match, the order-sign one wins. --list lists them.

  --url URL            the service's base URL (default http://localhost:3000)
  --service ID         the CDS service id (default: the one discovery lists for the request's hook)
  --no-auth            send no JWT (the service must run with CDS_AUTH=off)
  --care-setting C     record the care setting on the orders: ${CARE_SETTING_CHOICES.join(', ')}
  --fhir-server URL    send this fhirServer (and no fhirAuthorization) instead of the request's
  --no-prefetch        send no prefetch: the service queries the fhirServer
  --detail             print each card's markdown detail
  --json               print the response as JSON instead
  --list               list the scenarios
  --trusted-issuers    print a trusted-issuers file (CDS_TRUSTED_ISSUERS) that trusts the CDS Hooks
                       Sandbox and this machine's development key, for a service that should accept
                       calls from this CLI (e.g. docker-compose's; README)`;

export interface Io {
  out: (text: string) => void;
  err: (text: string) => void;
}

const defaultIo: Io = { out: (t) => process.stdout.write(t + '\n'), err: (t) => process.stderr.write(t + '\n') };

class UsageError extends Error {}

interface Options {
  target: string;
  url: string;
  service?: string;
  auth: boolean;
  careSetting: CareSettingChoice;
  fhirServer?: string;
  prefetch: boolean;
  detail: boolean;
  json: boolean;
}

type Command = Options | 'list' | 'help' | 'trusted-issuers';

function parse(argv: string[]): Command {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      url: { type: 'string' },
      service: { type: 'string' },
      'no-auth': { type: 'boolean' },
      'care-setting': { type: 'string' },
      'fhir-server': { type: 'string' },
      'no-prefetch': { type: 'boolean' },
      detail: { type: 'boolean' },
      json: { type: 'boolean' },
      list: { type: 'boolean' },
      'trusted-issuers': { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) return 'help';
  if (values.list) return 'list';
  if (values['trusted-issuers']) return 'trusted-issuers';
  if (positionals.length !== 1) throw new UsageError('Give one request file or scenario name.');
  const url = (values.url ?? 'http://localhost:3000').replace(/\/+$/, '');
  if (!/^https?:\/\/[^/]+/.test(url)) throw new UsageError(`--url must be an http(s) URL, got "${url}"`);
  const careSetting = values['care-setting'] ?? 'as-recorded';
  if (!isCareSettingChoice(careSetting)) throw new UsageError(`--care-setting must be one of ${CARE_SETTING_CHOICES.join(', ')}`);
  if (values['fhir-server'] !== undefined && !/^https?:\/\//.test(values['fhir-server'])) throw new UsageError('--fhir-server must be an http(s) URL');
  return {
    target: positionals[0]!,
    url,
    ...(values.service ? { service: values.service } : {}),
    auth: !values['no-auth'],
    careSetting,
    ...(values['fhir-server'] ? { fhirServer: values['fhir-server'] } : {}),
    prefetch: !values['no-prefetch'],
    detail: !!values.detail,
    json: !!values.json,
  };
}

/** The request to send: a JSON file when the target names one, else the scenario's request. */
function buildRequest(options: Options, book: () => ScenarioBook): { request: CdsHooksRequestJson; label: string } {
  let request: CdsHooksRequestJson;
  let label: string;
  if (options.target.endsWith('.json')) {
    // npm runs scripts in the package folder; INIT_CWD is where `npm run hook` was typed.
    request = JSON.parse(readFileSync(resolve(process.env.INIT_CWD ?? process.cwd(), options.target), 'utf8')) as CdsHooksRequestJson;
    label = options.target;
    if (options.careSetting !== 'as-recorded') throw new UsageError('--care-setting applies to scenarios, not to request files');
  } else {
    const scenarios = book();
    const scenario = scenarios.find(options.target);
    const careSettings = loadPolicyCatalog(loadConfig().policyDir).careSettings;
    request = scenarios.request(scenario.name, { careSetting: options.careSetting }, careSettings);
    label = `scenario ${scenario.name} (${scenario.row}: ${scenario.description})`;
  }
  if (options.fhirServer) {
    request.fhirServer = options.fhirServer;
    delete request.fhirAuthorization;
  }
  if (!options.prefetch) delete request.prefetch;
  return { request, label };
}

/** The example issuers (the CDS Hooks Sandbox) plus the public half of the local development key. */
async function trustedIssuersWithDevKey(): Promise<unknown[]> {
  const example = JSON.parse(readFileSync(EXAMPLE_TRUSTED_ISSUERS, 'utf8')) as unknown[];
  const key = await ensureDevKey(defaultDevKeyDir());
  return [
    ...example,
    {
      iss: DEV_ISSUER,
      description: `The development key of the machine that printed this file (npm run hook, npm run token). Its private half stays in ${defaultDevKeyDir()}.`,
      jwks: key.jwks,
    },
  ];
}

async function authorization(options: Options, url: string): Promise<Record<string, string>> {
  return options.auth ? { authorization: `Bearer ${await signDevToken({ audience: url })}` } : {};
}

async function readBody(res: Response): Promise<unknown> {
  const text = await res.text();
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** The service for the request's hook, from the service's discovery document. */
async function discoverService(options: Options, hook: string): Promise<string> {
  const url = `${options.url}/cds-services`;
  const res = await fetch(url, { headers: { accept: 'application/json', ...(await authorization(options, url)) } });
  const body = await readBody(res);
  if (!res.ok) throw new Error(`Discovery ${url} answered HTTP ${res.status}\n${printOutcome(body)}`);
  const services = ((body as { services?: Array<{ id?: string; hook?: string }> }).services ?? []).filter((s) => s.hook === hook);
  if (services.length !== 1 || !services[0]!.id) throw new Error(`Discovery at ${url} lists ${services.length} services for ${hook}; name one with --service`);
  return services[0]!.id;
}

export async function main(argv: string[], io: Io = defaultIo, book: () => ScenarioBook = () => ScenarioBook.load()): Promise<number> {
  let options: Command | undefined;
  try {
    options = parse(argv);
    if (options === 'help') {
      io.out(USAGE);
      return 0;
    }
    if (options === 'trusted-issuers') {
      io.out(JSON.stringify(await trustedIssuersWithDevKey(), null, 2));
      return 0;
    }
    if (options === 'list') {
      for (const s of book().list()) io.out(`${s.row.padEnd(8)} ${s.name.padEnd(48)} ${s.description}`);
      return 0;
    }
    const { request, label } = buildRequest(options, book);
    const serviceId = options.service ?? (await discoverService(options, request.hook));
    const url = `${options.url}/cds-services/${encodeURIComponent(serviceId)}`;
    const started = performance.now();
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json', ...(await authorization(options, url)) },
      body: JSON.stringify(request),
    });
    const body = await readBody(res);
    const ms = performance.now() - started;
    if (options.json) {
      io.out(typeof body === 'string' ? body : JSON.stringify(body, null, 2));
    } else {
      io.out(`POST ${url}  ${label}\nHTTP ${res.status} in ${ms.toFixed(0)} ms\n`);
      io.out(res.ok ? `${printCards(body, { detail: options.detail })}\n\n${printCoverageInformation(body)}` : printOutcome(body));
    }
    return res.ok ? 0 : 1;
  } catch (error) {
    if (error instanceof UsageError || error instanceof ScenarioNotFound || (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      io.err(`${(error as Error).message}\n\n${USAGE}`);
      return 2;
    }
    const cause = (error as { cause?: { code?: string; message?: string } }).cause;
    if (cause) {
      const where = typeof options === 'object' ? ` at ${options.url}` : '';
      io.err(`Cannot reach the service${where}: ${cause.code ?? cause.message ?? String(error)}. Is it running (npm start)?`);
    } else {
      io.err(error instanceof Error ? error.message : String(error));
    }
    return 1;
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
