// Puts every FHIR resource under a folder (default fhir-resources/) into a FHIR server, as one
// transaction Bundle of PUTs (create or replace by id, so running it twice changes nothing). Waits
// for the server first: docker-compose's `loader` runs it while HAPI is still starting.
// No dependencies beyond Node 20, so it runs in a plain node image with the folder mounted.
//
//   node scripts/load-fhir-resources.mjs --base http://hapi:8080/fhir [--dir fhir-resources] [--wait 300]
//
// Exit 0 when the server took every resource, 1 when it did not (its OperationOutcome is printed),
// 2 on a usage error.
/* global AbortSignal, setTimeout */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { parseArgs } from 'node:util';

/** Referenced resources first, so a server that checks references on write accepts the whole Bundle. */
const ORDER = ['Organization', 'Practitioner', 'Location', 'Patient', 'Encounter', 'Coverage', 'ServiceRequest', 'Appointment'];

function usage(message) {
  console.error(`${message}\nusage: node scripts/load-fhir-resources.mjs --base <FHIR base URL> [--dir fhir-resources] [--wait seconds]`);
  process.exit(2);
}

function jsonFiles(dir) {
  return readdirSync(dir, { withFileTypes: true })
    .sort((a, b) => a.name.localeCompare(b.name))
    .flatMap((entry) => {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) return jsonFiles(path);
      return entry.isFile() && entry.name.endsWith('.json') ? [path] : [];
    });
}

/** The resources under `dir`, referenced types first; a file that is not a resource with an id stops the load. */
function readResources(dir) {
  const resources = jsonFiles(dir).map((file) => {
    const resource = JSON.parse(readFileSync(file, 'utf8'));
    if (typeof resource?.resourceType !== 'string' || typeof resource.id !== 'string') {
      throw new Error(`${relative(process.cwd(), file)} is not a FHIR resource with a resourceType and an id`);
    }
    return resource;
  });
  const rank = (r) => (ORDER.includes(r.resourceType) ? ORDER.indexOf(r.resourceType) : ORDER.length);
  return resources.sort((a, b) => rank(a) - rank(b));
}

function transactionBundle(resources, base) {
  return {
    resourceType: 'Bundle',
    type: 'transaction',
    entry: resources.map((resource) => ({
      fullUrl: `${base}/${resource.resourceType}/${resource.id}`,
      resource,
      request: { method: 'PUT', url: `${resource.resourceType}/${resource.id}` },
    })),
  };
}

async function waitForServer(base, seconds) {
  const deadline = Date.now() + seconds * 1000;
  let last;
  for (;;) {
    try {
      const res = await fetch(`${base}/metadata`, { headers: { accept: 'application/fhir+json' }, signal: AbortSignal.timeout(10_000) });
      await res.arrayBuffer();
      if (res.ok) return;
      last = `HTTP ${res.status}`;
    } catch (error) {
      last = error?.cause?.code ?? error?.message ?? String(error);
    }
    if (Date.now() >= deadline) throw new Error(`${base}/metadata did not answer within ${seconds} s (last: ${last})`);
    console.log(`waiting for ${base} (${last})`);
    await new Promise((resolve) => setTimeout(resolve, 2000));
  }
}

function outcomeText(body) {
  if (body?.resourceType !== 'OperationOutcome') return typeof body === 'string' ? body.slice(0, 2000) : JSON.stringify(body).slice(0, 2000);
  return (body.issue ?? []).map((i) => `${i.severity ?? ''} ${i.code ?? ''}: ${i.diagnostics ?? ''}`.trim()).join('\n');
}

async function main() {
  let values;
  try {
    ({ values } = parseArgs({ options: { base: { type: 'string' }, dir: { type: 'string' }, wait: { type: 'string' } } }));
  } catch (error) {
    usage(error.message);
  }
  if (!values.base || !/^https?:\/\//.test(values.base)) usage('--base must be the FHIR server base URL');
  const base = values.base.replace(/\/+$/, '');
  const wait = values.wait === undefined ? 0 : Number(values.wait);
  if (!Number.isFinite(wait) || wait < 0) usage('--wait must be a number of seconds');

  const resources = readResources(values.dir ?? 'fhir-resources');
  if (wait > 0) await waitForServer(base, wait);
  const res = await fetch(base, {
    method: 'POST',
    headers: { 'content-type': 'application/fhir+json', accept: 'application/fhir+json' },
    body: JSON.stringify(transactionBundle(resources, base)),
    signal: AbortSignal.timeout(120_000),
  });
  const text = await res.text();
  let body = text;
  try {
    body = JSON.parse(text);
  } catch {
    // shown as text
  }
  const statuses = body?.resourceType === 'Bundle' ? (body.entry ?? []).map((e) => String(e?.response?.status ?? '')) : [];
  const refused = statuses.filter((s) => !/^20[01]\b/.test(s));
  if (!res.ok || statuses.length !== resources.length || refused.length > 0) {
    console.error(`${base} did not take the transaction: HTTP ${res.status}, ${statuses.length} of ${resources.length} entries answered${refused.length ? `, refused: ${refused.join(', ')}` : ''}`);
    console.error(outcomeText(body));
    process.exit(1);
  }
  const created = statuses.filter((s) => s.startsWith('201')).length;
  console.log(`Loaded ${resources.length} resources into ${base} (${created} created, ${resources.length - created} updated)`);
}

main().catch((error) => {
  console.error(error?.message ?? String(error));
  process.exit(1);
});
