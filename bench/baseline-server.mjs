// The baseline the service is compared with: a bare node:http server that does the least any CDS
// Hooks service must do. It reads the body, JSON-parses it and writes a pre-built answer of the same
// status and size as the service's answer to that request (looked up by hookInstance). With
// BASELINE_JWK set it also verifies each request's JWT signature with jose, and nothing else: the
// key is imported once, claims are not checked, replays are not tracked.
//
// Env: PORT, BASELINE_ANSWERS (JSON file: { [hookInstance]: { status, body } }), BASELINE_JWK
// (optional: JSON file holding the issuer's public JWK).
import { createServer } from 'node:http';
import { readFileSync } from 'node:fs';
import { compactVerify, importJWK } from 'jose';

const answers = new Map(
  Object.entries(JSON.parse(readFileSync(process.env.BASELINE_ANSWERS, 'utf8'))).map(([id, a]) => [
    id,
    { status: a.status, body: Buffer.from(a.body) },
  ]),
);
const jwk = process.env.BASELINE_JWK ? JSON.parse(readFileSync(process.env.BASELINE_JWK, 'utf8')) : undefined;
const key = jwk ? await importJWK(jwk, 'ES384') : undefined;
const unauthorized = Buffer.from('{"resourceType":"OperationOutcome","issue":[{"severity":"error","code":"login"}]}');

function send(res, status, body) {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': body.length });
  res.end(body);
}

const server = createServer((req, res) => {
  const chunks = [];
  req.on('data', (chunk) => chunks.push(chunk));
  req.on('end', async () => {
    let request;
    try {
      request = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    } catch {
      return send(res, 400, unauthorized);
    }
    if (key) {
      const match = /^Bearer (.+)$/.exec(req.headers.authorization ?? '');
      try {
        if (!match) throw new Error('no token');
        await compactVerify(match[1], key);
      } catch {
        return send(res, 401, unauthorized);
      }
    }
    const answer = answers.get(request?.hookInstance);
    if (!answer) return send(res, 404, unauthorized);
    send(res, answer.status, answer.body);
  });
});
server.keepAliveTimeout = 60_000;
server.listen(Number(process.env.PORT), '127.0.0.1', () => process.stdout.write('listening\n'));
process.on('SIGTERM', () => { server.close(() => process.exit(0)); server.closeAllConnections(); });
