// Rough latency check against a running service: fires every cds-hooks/ example N times, one at a
// time, and prints the median and p99 per example. Not a benchmark (see issue "Performance").
// Usage: node scripts/hook-latency.mjs [baseUrl=http://localhost:3000] [N=200]
// Each call carries its own JWT signed with the local development key (signed before timing);
// run it against `npm start` (which builds dist/ and trusts that key outside production).
import { readFileSync } from 'node:fs';
import { signDevToken } from '../dist/src/auth/dev-key.js';

const base = process.argv[2] ?? 'http://localhost:3000';
const n = Number(process.argv[3] ?? 200);
const manifest = JSON.parse(readFileSync(new URL('../cds-hooks/examples.json', import.meta.url), 'utf8'));
const quantile = (sorted, q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];

for (const { file, service, status } of manifest) {
  const body = readFileSync(new URL(`../cds-hooks/${file}`, import.meta.url), 'utf8');
  const url = `${base}/cds-services/crd-${service}`;
  const tokens = await Promise.all(Array.from({ length: n }, () => signDevToken({ audience: url })));
  const times = [];
  for (let i = 0; i < n; i++) {
    const started = process.hrtime.bigint();
    const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${tokens[i]}` }, body });
    await res.arrayBuffer();
    times.push(Number(process.hrtime.bigint() - started) / 1e6);
    if (res.status !== status) throw new Error(`${file}: expected ${status}, got ${res.status}`);
  }
  times.sort((a, b) => a - b);
  console.log(`${file.padEnd(48)} median ${quantile(times, 0.5).toFixed(2)} ms  p99 ${quantile(times, 0.99).toFixed(2)} ms`);
}
