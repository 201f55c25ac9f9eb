// Part of `npm run build`, after tsc: writes dist/src/validation/precompiled.cjs, ajv's standalone
// code for every JSON Schema the service compiles at start-up, so a started service compiles none
// (src/validation/validators.ts). The schemas are found by doing what start-up does, without
// listening: loading policies/, the hook request validators, and the modules that compile theirs
// when loaded (orders, feedback, trusted issuers).
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = new URL('../', import.meta.url);
const dist = (path) => new URL(`dist/src/${path}`, root);
const { compiledSchemas, precompiledModule, usePrecompiled } = await import(dist('validation/validators.js'));
usePrecompiled(null); // compile everything afresh, whatever an earlier build wrote
const { loadPolicyCatalog } = await import(dist('policy/load.js'));
const { serviceDefinitions } = await import(dist('hooks/service-definitions.js'));
const { RequestValidator } = await import(dist('hooks/request.js'));
await import(dist('hooks/order-schema.js'));
await import(dist('feedback/feedback.js'));
await import(dist('auth/trusted-issuers.js'));
const catalog = loadPolicyCatalog(fileURLToPath(new URL('policies', root)));
new RequestValidator(serviceDefinitions(catalog).map((s) => s.hook));

const file = dist('validation/precompiled.cjs');
const schemas = compiledSchemas();
writeFileSync(file, precompiledModule(schemas));
// On stderr: `npm run -s token` prints the token on stdout after a build, for `$(...)` in a shell.
console.error(`compile-validators: ${schemas.length} JSON Schema validators written to ${fileURLToPath(file)}`);
