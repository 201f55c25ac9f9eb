import type { Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { operationOutcome } from './errors.js';

/**
 * Requests Node's HTTP parser rejects before express sees them (headers over the size limit,
 * malformed request lines) still get a 4xx with an OperationOutcome, never a bare socket reset.
 */
export function answerClientErrors(server: Server): void {
  server.on('clientError', (error: NodeJS.ErrnoException, socket: Duplex) => {
    if (!socket.writable || error.code === 'ECONNRESET') {
      socket.destroy();
      return;
    }
    const [status, text, diagnostics] =
      error.code === 'HPE_HEADER_OVERFLOW'
        ? [431, 'Request Header Fields Too Large', 'The request headers are larger than this service accepts.']
        : [400, 'Bad Request', 'The HTTP request could not be parsed.'];
    const body = JSON.stringify(operationOutcome(status === 431 ? 'too-costly' : 'invalid', diagnostics));
    socket.end(
      `HTTP/1.1 ${status} ${text}\r\nContent-Type: application/fhir+json; charset=utf-8\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  });
}
