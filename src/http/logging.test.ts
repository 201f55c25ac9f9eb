import { Writable } from 'node:stream';
import { createLogger } from './logging.js';

function capture() {
  const lines: Array<Record<string, unknown>> = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(JSON.parse(chunk.toString('utf8')) as Record<string, unknown>);
      done();
    },
  });
  return { lines, logger: createLogger({ destination }) };
}

test('the second line of defence: tokens and headers are redacted where a line could carry them', () => {
  const { lines, logger } = capture();
  logger.info({
    event: 'x',
    authorization: 'Bearer abc',
    headers: { authorization: 'Bearer abc' },
    access_token: 'tok',
    fhirAuthorization: { access_token: 'tok' },
    req: { method: 'POST', headers: { authorization: 'Bearer abc' } },
    request: { hook: 'order-sign', fhirAuthorization: { access_token: 'tok' } },
    iss: 'https://ehr.example.org',
  });
  expect(lines).toEqual([
    expect.objectContaining({
      event: 'x',
      authorization: '[redacted]',
      headers: '[redacted]',
      access_token: '[redacted]',
      fhirAuthorization: '[redacted]',
      req: { method: 'POST', headers: '[redacted]' },
      request: { hook: 'order-sign', fhirAuthorization: '[redacted]' },
      iss: 'https://ehr.example.org',
      level: 'info',
    }),
  ]);
});
