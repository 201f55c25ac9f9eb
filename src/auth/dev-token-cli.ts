import { pathToFileURL } from 'node:url';
import { signDevToken } from './dev-key.js';

/**
 * `npm run -s token -- <endpoint URL>` prints a JWT signed with the local development key, for curl:
 *   curl -H "Authorization: Bearer $(npm run -s token -- http://localhost:3000/cds-services/crd-order-sign)" ...
 */
async function main(argv: string[]): Promise<number> {
  const audience = argv[0];
  if (!audience || !/^https?:\/\//.test(audience)) {
    console.error('usage: npm run -s token -- <URL of the endpoint to call, e.g. http://localhost:3000/cds-services/crd-order-sign>');
    return 2;
  }
  process.stdout.write((await signDevToken({ audience })) + '\n');
  return 0;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main(process.argv.slice(2)).then((code) => process.exit(code), (error: unknown) => {
    console.error(error instanceof Error ? error.message : String(error));
    process.exit(1);
  });
}
