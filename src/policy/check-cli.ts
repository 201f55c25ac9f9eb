/** `npm run policies:check`: validates policies/ on its own and says what it found. */
import { loadConfig } from '../config.js';
import { loadPolicyCatalog, PolicyLoadError } from './load.js';

const { policyDir } = loadConfig();
try {
  const catalog = loadPolicyCatalog(policyDir);
  console.log(
    `policies OK in ${policyDir}: ${catalog.policies.length} policies, ${catalog.payers.length} payers, ${catalog.services.size} clinical services`,
  );
  for (const policy of catalog.policies) {
    console.log(`  ${policy.id} (${policy.payer}): ${policy.rules.length} rules, ${policy.versions.length} version(s)`);
  }
} catch (error) {
  console.error(error instanceof PolicyLoadError ? error.message : String(error));
  process.exitCode = 1;
}
