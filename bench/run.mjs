// `npm run bench [-- --quick] [-- --only=a,b] [-- --json=FILE]`: the service against bare node:http
// baselines in one run, and the issue's targets (docs/performance.md) judged PASS or FAIL.
// Every server is a child process started one after the other (never two under load at once: the
// machine has two cores, one of which drives the load). Exits 1 when a target fails.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { loadavg, tmpdir, cpus } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Child, MemorySampler, shippedNodeArgs } from './lib/processes.mjs';
import { runLoad, runProblems } from './lib/load.mjs';
import { asLoad, exampleMix, manyOrdersRequest, root, withoutPrefetch } from './lib/requests.mjs';
import { writeSyntheticCatalog } from './lib/policies.mjs';
import { benchIssuer, presign, verifyRate } from './lib/tokens.mjs';

const args = process.argv.slice(2);
const quick = args.includes('--quick');
const only = args.find((a) => a.startsWith('--only='))?.slice('--only='.length).split(',');
const jsonOut = args.find((a) => a.startsWith('--json='))?.slice('--json='.length);
// --profile: each service process writes a V8 CPU profile (.cpuprofile, for Chrome DevTools) to the work folder.
const profile = args.includes('--profile');
const wants = (phase) => !only || only.includes(phase);

/** One setting for every comparison: same connections, same duration, baseline and service alike. */
const S = {
  connections: 10,
  durationS: quick ? 2.5 : 15,
  // Warm-up by request count: the JIT needs thousands of calls to settle, whatever the rate.
  warmupRequests: quick ? 2000 : 15000,
  soakS: quick ? 2 : 60,
  latencyConnections: 4,
  latencyDurationS: quick ? 1.5 : 10,
  fhirDelayMs: 20,
  syntheticServices: 100,
  syntheticExtraPayers: 8,
  manyOrders: 50,
  coldStarts: 3,
};

const SERVICE = join(root, 'dist', 'src', 'server.js');
/** The service runs with the node flags it ships with (`npm start`, the Dockerfile). */
const SERVICE_NODE_ARGS = shippedNodeArgs(join(root, 'package.json'));
const BASELINE = join(root, 'bench', 'baseline-server.mjs');
const FHIR = join(root, 'bench', 'fhir-server.mjs');
const work = mkdtempSync(join(tmpdir(), 'crd-bench-'));
const benchStarted = Date.now();
const rows = [];
const targets = [];
const notes = [];
const children = new Set();

async function freePort() {
  const server = createServer();
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return port;
}

const port = await freePort();
const baseUrl = `http://127.0.0.1:${port}`;

/** A fresh records database (SQLite) for each service process. */
let dataDirs = 0;
function serviceData(name) {
  const dir = join(work, `${name}-${++dataDirs}.data`);
  mkdirSync(dir, { recursive: true });
  return { DATA_DIR: dir };
}

async function start(name, script, env, readyTimeoutMs = 20_000, onPort = port) {
  const nodeArgs = script !== SERVICE ? [] : [...SERVICE_NODE_ARGS, ...(profile ? ['--cpu-prof', `--cpu-prof-dir=${join(work, `${name}.profile`)}`] : [])];
  const child = new Child(name, script, { env: { PORT: String(onPort), ...serviceData(name), ...env }, logFile: join(work, `${name}.log`), nodeArgs });
  children.add(child);
  await child.listening(onPort, readyTimeoutMs);
  return child;
}

async function stop(child) {
  await child.stop();
  children.delete(child);
}

/** A timed run against `child`, with the child's CPU time per answered request and its memory. */
async function measured(child, options, label, url = baseUrl) {
  const cpuBefore = child.cpuMs();
  const mainBefore = child.mainThreadCpuMs();
  const clientBefore = process.cpuUsage();
  const memory = new MemorySampler(child, 250);
  const run = await runLoad({ baseUrl: url, ...options });
  const mem = memory.stop();
  const client = process.cpuUsage(clientBefore);
  const result = {
    ...run,
    label,
    cpuMsPerRequest: (child.cpuMs() - cpuBefore) / Math.max(1, run.requests),
    mainCpuMsPerRequest: (child.mainThreadCpuMs() - mainBefore) / Math.max(1, run.requests),
    peakRssMb: mem.peakRssMb,
    rssSamples: mem.samples,
    clientCpuPct: ((client.user + client.system) / 1e3 / (run.elapsedS * 1000)) * 100,
  };
  const problems = runProblems(run);
  if (problems.length > 0) notes.push(`${label}: ${problems.join('; ')}`);
  result.problems = problems;
  return result;
}

function row(comparison, server, r) {
  rows.push({ comparison, server, ...r });
  process.stderr.write(
    `  ${comparison} / ${server}: ${r.rps.toFixed(0)} req/s, p50 ${r.p50.toFixed(2)} ms, p99 ${r.p99.toFixed(2)} ms, ` +
      `${r.cpuMsPerRequest.toFixed(3)} CPU ms/req (main thread ${r.mainCpuMsPerRequest.toFixed(3)}), peak RSS ${r.peakRssMb.toFixed(0)} MB, client CPU ${r.clientCpuPct.toFixed(0)}%\n`,
  );
  return r;
}

function target(name, pass, measuredText, limitText) {
  targets.push({ name, pass, measured: measuredText, limit: limitText });
}

/** POSTs a request once and returns the status and body text. */
async function post(path, body, headers = {}, url = baseUrl) {
  const res = await fetch(`${url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
  return { status: res.status, body: await res.text() };
}

const mix = exampleMix();
const mixLoad = asLoad(mix);
const progress = (text) => process.stderr.write(`${text}\n`);

// The service with authentication off: what the pipeline costs, without the signature check.
const fhirPort = await freePort();
const fhirBase = `http://127.0.0.1:${fhirPort}/fhir`;
const pipelineEnv = {
  CDS_AUTH: 'off',
  // The examples name https://ehr.example.org/fhir (never called: everything is prefetched) and the
  // no-prefetch run names the loopback FHIR server.
  CDS_FHIR_ALLOWLIST: `https://ehr.example.org/fhir,${fhirBase}`,
};

let answers;
let servicePipeline;
let halfRate;
try {
  if (wants('pipeline') || wants('latency') || wants('memory') || wants('no-prefetch') || wants('orders') || wants('policies') || wants('auth')) {
    progress(`service (authentication off) on ${baseUrl}`);
    const service = await start('service-pipeline', SERVICE, pipelineEnv);
    // Every request of the mix must answer 200; the answers are what the baseline sends back.
    answers = {};
    for (const m of mix) {
      const answer = await post(m.path, JSON.stringify(m.request));
      if (answer.status !== 200) throw new Error(`${m.name}: the service answered ${answer.status}: ${answer.body.slice(0, 300)}`);
      answers[m.request.hookInstance] = answer;
    }
    writeFileSync(join(work, 'answers.json'), JSON.stringify(answers));
    const meanAnswerBytes = Object.values(answers).reduce((n, a) => n + Buffer.byteLength(a.body), 0) / mix.length;
    progress(`  ${mix.length} requests in the mix (${mix.map((m) => m.row).join(' ')}), answers ${meanAnswerBytes.toFixed(0)} bytes on average`);

    await runLoad({ baseUrl, requests: mixLoad, connections: S.connections, amount: S.warmupRequests });
    if (wants('pipeline') || wants('latency')) {
      servicePipeline = row('pipeline', 'service', await measured(service, { requests: mixLoad, connections: S.connections, durationS: S.durationS }, 'pipeline service'));
    }

    if (wants('latency') && servicePipeline) {
      const rate = Math.max(1, Math.round(servicePipeline.rps / 2));
      const half = row('p99 at half peak', `service @ ${rate} req/s`, await measured(service, { requests: mixLoad, connections: S.connections, durationS: S.latencyDurationS, overallRate: rate }, 'half-rate service'));
      halfRate = rate;
      target('p99 latency at half of peak rate (pipeline)', half.p99 <= 10 && half.problems.length === 0, `${half.p99.toFixed(2)} ms at ${rate} req/s`, '≤ 10 ms');
    }

    if (wants('no-prefetch')) {
      progress(`loopback FHIR server, ${S.fhirDelayMs} ms per answer, on ${fhirBase}`);
      const fhir = new Child('fhir', FHIR, { env: { PORT: String(fhirPort), FHIR_DELAY_MS: String(S.fhirDelayMs) }, logFile: join(work, 'fhir.log') });
      children.add(fhir);
      await fhir.listening(fhirPort);
      const noPrefetch = withoutPrefetch(mix, fhirBase);
      for (const [i, m] of noPrefetch.entries()) {
        const answer = await post(m.path, JSON.stringify(m.request));
        const expected = JSON.parse(answers[mix[i].request.hookInstance].body);
        const got = answer.status === 200 ? JSON.parse(answer.body) : undefined;
        if (!got || got.cards.length !== expected.cards.length || (got.systemActions?.length ?? 0) !== (expected.systemActions?.length ?? 0)) {
          throw new Error(`${m.name}: answered ${answer.status} and not as with prefetch: ${answer.body.slice(0, 300)}`);
        }
      }
      const opts = { connections: S.latencyConnections, durationS: S.latencyDurationS };
      const withPf = row('no-prefetch path', 'service, prefetch', await measured(service, { requests: mixLoad, ...opts }, 'prefetch reference'));
      const without = row('no-prefetch path', `service, FHIR +${S.fhirDelayMs} ms`, await measured(service, { requests: asLoad(noPrefetch), ...opts }, 'no-prefetch service'));
      const limit = withPf.p50 + 1.3 * S.fhirDelayMs;
      target('no-prefetch p50 ≤ prefetch p50 + 1.3 × FHIR delay', without.p50 <= limit && without.problems.length === 0, `${without.p50.toFixed(2)} ms (prefetch ${withPf.p50.toFixed(2)} ms)`, `≤ ${limit.toFixed(2)} ms`);
      await stop(fhir);
    }

    if (wants('orders')) {
      const many = manyOrdersRequest(S.manyOrders);
      const body = JSON.stringify(many.request);
      const answer = await post(many.path, body);
      if (answer.status !== 200) throw new Error(`${many.name}: answered ${answer.status}: ${answer.body.slice(0, 300)}`);
      const parsed = JSON.parse(answer.body);
      progress(`  ${many.name}: ${parsed.systemActions.length} orders annotated, ${parsed.cards.length} cards, ${(body.length / 1024).toFixed(0)} KB request`);
      const r = row('order scale', `service, ${S.manyOrders} orders`, await measured(service, { requests: [{ path: many.path, body }], connections: 1, durationS: S.latencyDurationS }, 'many orders'));
      target(`one order-sign with ${S.manyOrders} draft orders, p50`, r.p50 <= 20 && r.problems.length === 0, `${r.p50.toFixed(2)} ms`, '≤ 20 ms');
    }

    if (wants('memory')) {
      progress(`soak: ${S.soakS} s at full rate`);
      const soak = await measured(service, { requests: mixLoad, connections: S.connections, durationS: S.soakS }, 'soak');
      row('memory soak', `service, ${S.soakS} s`, soak);
      // Growth: the median RSS of the last quarter of the run against that of its second quarter
      // (the first quarter is still allocating: JIT code, pools, heap growth).
      const samples = soak.rssSamples.map((s) => s.rssMb);
      const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
      const q = Math.floor(samples.length / 4);
      const early = median(samples.slice(q, 2 * q));
      const late = median(samples.slice(3 * q));
      const growth = late - early;
      const peak = Math.max(soak.peakRssMb, service.memory().peakRssMb);
      target('peak RSS under load', peak <= 200, `${peak.toFixed(0)} MB`, '≤ 200 MB');
      const growthText = `${growth >= 0 ? '+' : ''}${growth.toFixed(1)} MB (${early.toFixed(0)} → ${late.toFixed(0)} MB)`;
      if (quick) {
        // A few seconds show the heap filling up between collections, not a leak: only the full run judges.
        notes.push(`memory: ${growthText} over a ${S.soakS}-second run (not judged in --quick; the full run soaks for 60 s)`);
      } else {
        target(`no memory growth over a ${S.soakS}-second run`, growth <= Math.max(10, 0.05 * early) && soak.problems.length === 0, growthText, '≤ +10 MB or 5%');
      }
    }
    await stop(service);
  }

  if (wants('pipeline')) {
    progress('baseline: bare node:http, JSON.parse, pre-built answer');
    const baseline = await start('baseline-pipeline', BASELINE, { BASELINE_ANSWERS: join(work, 'answers.json') });
    await runLoad({ baseUrl, requests: mixLoad, connections: S.connections, amount: S.warmupRequests });
    const b = row('pipeline', 'baseline (node:http)', await measured(baseline, { requests: mixLoad, connections: S.connections, durationS: S.durationS }, 'pipeline baseline'));
    if (halfRate) {
      // The floor of this machine and load generator for the p99 target: the bare server at the same rate.
      row('p99 at half peak', `baseline @ ${halfRate} req/s`, await measured(baseline, { requests: mixLoad, connections: S.connections, durationS: S.latencyDurationS, overallRate: halfRate }, 'half-rate baseline'));
    }
    await stop(baseline);
    const ratio = servicePipeline.rps / b.rps;
    target('pipeline throughput ratio service/baseline', ratio >= 0.5 && servicePipeline.problems.length === 0 && b.problems.length === 0, `${ratio.toFixed(2)} (goal 0.7)`, '≥ 0.5');
  }

  if (wants('policies')) {
    const dir = join(work, 'policies-1000');
    const count = writeSyntheticCatalog(dir, { services: S.syntheticServices, extraPayers: S.syntheticExtraPayers });
    progress(`service with ${count} synthetic policies (${S.syntheticServices} services × ${S.syntheticExtraPayers + 2} payers) + the 2 real ones, alternated with one with the 2`);
    const manyPort = await freePort();
    const manyUrl = `http://127.0.0.1:${manyPort}`;
    const started = Date.now();
    const many = await start('service-policies', SERVICE, { ...pipelineEnv, POLICY_DIR: dir }, 60_000, manyPort);
    const loadMs = Date.now() - started;
    for (const m of mix) {
      const answer = await post(m.path, JSON.stringify(m.request), {}, manyUrl);
      if (answer.status !== 200 || answer.body.length !== answers[m.request.hookInstance].body.length) {
        throw new Error(`${m.name} with ${count} policies: answered ${answer.status}, not as with the shipped policies`);
      }
    }
    const two = await start('service-two-policies', SERVICE, pipelineEnv);
    const sides = [
      { key: 'two', child: two, url: baseUrl, label: 'service, 2 policies', segments: [] },
      { key: 'many', child: many, url: manyUrl, label: `service, ${count + 2} policies`, segments: [] },
    ];
    for (const side of sides) await runLoad({ baseUrl: side.url, requests: mixLoad, connections: S.connections, amount: quick ? 1500 : S.warmupRequests });
    // A, B, A, B: CPU per request drifts by ±15 % over minutes here, so the two run side by side in time.
    for (let round = 0; round < 2; round++) {
      for (const side of sides) {
        side.segments.push(await measured(side.child, { requests: mixLoad, connections: S.connections, durationS: S.durationS / 2 }, `policy scale (${side.key})`, side.url));
      }
    }
    const combined = sides.map(({ label, segments }) => {
      const requests = segments.reduce((n, r) => n + r.requests, 0);
      return row('policy scale', label, {
        ...segments[1],
        requests,
        rps: segments.reduce((n, r) => n + r.ok, 0) / segments.reduce((n, r) => n + r.elapsedS, 0),
        cpuMsPerRequest: segments.reduce((n, r) => n + r.cpuMsPerRequest * r.requests, 0) / requests,
        mainCpuMsPerRequest: segments.reduce((n, r) => n + r.mainCpuMsPerRequest * r.requests, 0) / requests,
        p50: segments.reduce((n, r) => n + r.p50, 0) / segments.length,
        p99: Math.max(...segments.map((r) => r.p99)),
        peakRssMb: Math.max(...segments.map((r) => r.peakRssMb)),
        problems: segments.flatMap((r) => r.problems),
      });
    });
    await stop(two);
    await stop(many);
    const [a, b] = combined;
    const ratio = b.cpuMsPerRequest / a.cpuMsPerRequest;
    notes.push(`policy scale: the service started with ${count + 2} policies in ${loadMs} ms; throughput ${(b.rps / a.rps).toFixed(2)} × the two-policy service, run alternately`);
    target(`per-request CPU with ${count} synthetic policies / with 2`, ratio <= 1.2 && a.problems.length === 0 && b.problems.length === 0, `${ratio.toFixed(2)} (${b.cpuMsPerRequest.toFixed(3)} vs ${a.cpuMsPerRequest.toFixed(3)} ms)`, '≤ 1.2');
  }


  if (wants('auth') || wants('cold-start')) {
    const trusted = join(work, 'trusted-issuers.json');
    const jwkFile = join(work, 'bench-client.jwk.json');
    const issuer = await benchIssuer(trusted, jwkFile);
    const authEnv = { CDS_AUTH: 'required', CDS_TRUSTED_ISSUERS: trusted, CDS_FHIR_ALLOWLIST: pipelineEnv.CDS_FHIR_ALLOWLIST };

    if (wants('auth')) {
      const rate = await verifyRate(issuer.privateKeyPem, issuer.jwk);
      progress(`authenticated: jose verifies ${rate.toFixed(0)} ES384 signatures/s in this process`);
      // A fixed number of requests per run (the same for baseline and service): each needs its own
      // token, signed beforehand. Sized so a run lasts about the set duration at the verify ceiling.
      // --quick: 1.5 seconds' worth at the verify ceiling (the service, slower, takes longer).
      const amount = Math.ceil(rate * (quick ? 1.5 : S.durationS));
      const warm = Math.ceil(rate * (quick ? 1 : 4));
      const paths = [...new Set(mix.map((m) => m.path))];
      const perPath = (n) => {
        const counts = new Map(paths.map((p) => [p, 0]));
        for (let c = 0; c < S.connections; c++) {
          const share = Math.floor(n / S.connections) + (c < n % S.connections ? 1 : 0);
          for (let k = 0; k < share; k++) counts.set(mix[k % mix.length].path, counts.get(mix[k % mix.length].path) + 1);
        }
        return counts;
      };
      const need = perPath(amount + warm);
      const signStarted = Date.now();
      const signed = await presign(
        issuer.privateKeyPem,
        paths.map((p) => ({ aud: `${baseUrl}${p}`, count: Math.ceil(need.get(p) * 1.05) + 2 * S.connections })),
      );
      progress(`  signed ${signed.reduce((n, t) => n + t.length, 0)} tokens in ${((Date.now() - signStarted) / 1000).toFixed(1)} s`);
      const pools = new Map(paths.map((p, i) => [p, { list: signed[i], next: 0 }]));
      const authLoad = mix.map((m) => ({ path: m.path, body: JSON.stringify(m.request), tokens: pools.get(m.path) }));
      const authRun = async (child, label) => {
        for (const pool of pools.values()) pool.next = 0; // a fresh process has seen none of them
        await runLoad({ baseUrl, requests: authLoad, connections: S.connections, amount: warm });
        return await measured(child, { requests: authLoad, connections: S.connections, amount }, label);
      };

      progress('baseline: bare node:http, JSON.parse, jose signature check, pre-built answer');
      const baseline = await start('baseline-verify', BASELINE, { BASELINE_ANSWERS: join(work, 'answers.json'), BASELINE_JWK: jwkFile });
      const b = row('authenticated', 'baseline (verify only)', await authRun(baseline, 'authenticated baseline'));
      await stop(baseline);

      progress('service (authentication required)');
      const service = await start('service-auth', SERVICE, authEnv);
      const unsigned = await post(mix[0].path, JSON.stringify(mix[0].request));
      if (unsigned.status !== 401) {
        notes.push(`authenticated: the service answered ${unsigned.status} to a call without a token: this build does not authenticate (CDS_AUTH is not implemented), so its figure is not an authenticated one`);
      }
      const s = row('authenticated', 'service', await authRun(service, 'authenticated service'));
      await stop(service);
      const ratio = s.rps / b.rps;
      target(
        'authenticated throughput ratio service/verify-only baseline',
        unsigned.status === 401 && ratio >= 0.8 && s.problems.length === 0 && b.problems.length === 0,
        unsigned.status === 401 ? ratio.toFixed(2) : `${ratio.toFixed(2)}, but authentication is not enforced`,
        '≥ 0.8',
      );
    }

    if (wants('cold-start')) {
      // Production configuration: authentication required, the shipped policies. Polls an
      // order-sign every 5 ms from the moment the process is spawned until one answers 200.
      const m = mix.find((x) => x.path.endsWith('crd-order-sign'));
      const body = JSON.stringify(m.request);
      const [tokens] = await presign(issuer.privateKeyPem, [{ aud: `${baseUrl}${m.path}`, count: S.coldStarts * 50 }]);
      const times = [];
      for (let i = 0; i < S.coldStarts; i++) {
        const child = new Child('service-cold', SERVICE, {
          env: { PORT: String(port), ...serviceData('service-cold'), ...authEnv },
          logFile: join(work, 'service-cold.log'),
          nodeArgs: SERVICE_NODE_ARGS,
        });
        children.add(child);
        let answered;
        for (let tries = 0; tries < 2000 && !answered; tries++) {
          try {
            const res = await post(m.path, body, { authorization: `Bearer ${tokens[0]}` });
            tokens.shift(); // it reached the service: never send it again
            if (res.status === 200) answered = Number(process.hrtime.bigint() - child.startedAt) / 1e6;
            else if (res.status !== 503) throw new Error(`cold start: the service answered ${res.status}: ${res.body.slice(0, 200)}`);
          } catch (error) {
            if (error.cause?.code !== 'ECONNREFUSED') throw error;
            await sleep(5);
          }
        }
        await stop(child);
        if (answered === undefined) throw new Error('cold start: no answer within 10 s');
        times.push(answered);
      }
      times.sort((a, b) => a - b);
      const median = times[Math.floor(times.length / 2)];
      notes.push(`cold start: ${times.map((t) => `${t.toFixed(0)} ms`).join(', ')} (${S.coldStarts} starts, median judged)`);
      target('cold start: spawn to first answered order-sign', median <= 1500, `${median.toFixed(0)} ms`, '≤ 1500 ms');
    }
  }
} finally {
  for (const child of children) await child.stop();
}

// The report.
const failed = targets.filter((t) => !t.pass).length;
const fmt = (n, digits = 2) => (Number.isFinite(n) ? n.toFixed(digits) : '-');
const header = ['comparison', 'server', 'req/s', 'p50 ms', 'p99 ms', 'CPU ms/req', 'main ms/req', 'peak RSS MB'];
const table = rows.map((r) => [r.comparison, r.server, fmt(r.rps, 0), fmt(r.p50), fmt(r.p99), fmt(r.cpuMsPerRequest, 3), fmt(r.mainCpuMsPerRequest, 3), fmt(r.peakRssMb, 0)]);
const widths = header.map((h, i) => Math.max(h.length, ...table.map((t) => t[i].length)));
const line = (cells) => cells.map((c, i) => (i < 2 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
const load = loadavg().map((l) => l.toFixed(2)).join(' ');
console.log('');
console.log(`CRD service benchmark (${quick ? 'quick' : 'full'}): node ${process.version}, ${cpus().length} × ${cpus()[0]?.model ?? 'CPU'}, load average ${load}`);
console.log(`${S.connections} connections, ${S.durationS} s per throughput run (after ${S.warmupRequests} warm-up requests), mix of ${mix.length} requests: every decision-table row, every hook, full prefetch`);
console.log('');
console.log(line(header));
console.log(line(widths.map((w) => '-'.repeat(w))));
for (const t of table) console.log(line(t));
console.log('');
for (const t of targets) console.log(`${t.pass ? 'PASS' : 'FAIL'}  ${t.name}: ${t.measured} (target ${t.limit})`);
for (const n of notes) console.log(`note  ${n}`);
const kept = failed > 0 || targets.length === 0 || profile;
console.log(`\nfinished in ${((Date.now() - benchStarted) / 1000).toFixed(0)} s${kept ? `; logs${profile ? ' and CPU profiles' : ''} in ${work}` : ''}`);

if (jsonOut) {
  writeFileSync(jsonOut, JSON.stringify({ quick, settings: S, node: process.version, loadavg: loadavg(), rows: rows.map(({ rssSamples: _s, ...r }) => r), targets, notes }, null, 2));
}
if (failed === 0 && targets.length > 0 && !profile) rmSync(work, { recursive: true, force: true });
process.exit(failed > 0 || targets.length === 0 ? 1 : 0);
