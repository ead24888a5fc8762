/**
 * Answers to requests Node's HTTP parser refuses before any handler runs (RFC 9110 §15.5.1 400,
 * RFC 6585 §5 431; FHIR R4 http.html: an error answer carries an OperationOutcome): oversized
 * header sections, malformed request lines and headers, bad chunked encoding, header timeouts.
 * Node's default answer has no body; this one is a FHIR OperationOutcome (and CORS allows a browser
 * to read it), then the connection is closed, as Node does.
 */
import { STATUS_CODES, type Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { FhirError } from '../fhir/outcome';

interface ParserError extends Error {
  code?: string;
  /** The bytes the parser choked on (Node sets it for parser errors). */
  rawPacket?: Buffer;
}

/** The status and OperationOutcome for a parser error code (undefined: just close the connection). */
export function clientErrorAnswer(code: string | undefined): { status: number; body: string } | undefined {
  if (code === 'ECONNRESET' || code === 'EPIPE') return undefined;
  let fe: FhirError;
  switch (code) {
    case 'HPE_HEADER_OVERFLOW':
      fe = new FhirError('invalid', { code: 'too-costly', diagnostics: 'The request line and headers are larger than the server accepts' }, { status: 431 });
      break;
    case 'ERR_HTTP_REQUEST_TIMEOUT':
    case 'ERR_HTTP_HEADERS_TIMEOUT':
      fe = new FhirError('invalid', { code: 'timeout', diagnostics: 'The request was not received in time' }, { status: 408 });
      break;
    case 'HPE_CHUNK_EXTENSIONS_OVERFLOW':
      fe = new FhirError('too-large', { code: 'too-costly', diagnostics: 'The chunk extensions of the request body are larger than the server accepts' });
      break;
    default:
      fe = new FhirError('invalid', { code: 'structure', diagnostics: 'The request is not a well-formed HTTP/1.1 message' });
  }
  return { status: fe.status, body: JSON.stringify(fe.toOperationOutcome()) };
}

/** Installs the OperationOutcome answer to parser errors on `server`. */
export function answerClientErrors(server: Server): void {
  server.on('clientError', (err: ParserError, socket: Duplex) => {
    const answer = clientErrorAnswer(err.code);
    // A response already on its way (a pipelined request's) cannot be followed by another one.
    const inProgress = (socket as Duplex & { _httpMessage?: { headersSent?: boolean } })._httpMessage?.headersSent === true;
    if (!answer || !socket.writable || inProgress) {
      socket.destroy();
      return;
    }
    // The answer to a HEAD request has no body (RFC 9110 §9.3.2), even when it is an error.
    const isHead = Buffer.isBuffer(err.rawPacket) && err.rawPacket.subarray(0, 5).toString('latin1') === 'HEAD ';
    const head = [
      `HTTP/1.1 ${answer.status} ${STATUS_CODES[answer.status] ?? 'Error'}`,
      'Content-Type: application/fhir+json; charset=utf-8',
      `Content-Length: ${Buffer.byteLength(answer.body)}`,
      'Access-Control-Allow-Origin: *',
      // As on every other answer (src/http/app.ts): no MIME sniffing, never cached.
      'X-Content-Type-Options: nosniff',
      'Cache-Control: no-store',
      'Connection: close',
    ];
    socket.end(`${head.join('\r\n')}\r\n\r\n${isHead ? '' : answer.body}`);
  });
}
