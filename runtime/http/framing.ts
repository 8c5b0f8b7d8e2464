/**
 * Answers at the HTTP framing level (I/O on sockets), shared by the adapter and the
 * dispatcher's broker ingress:
 *
 * - `answerClientError`: a server 'clientError' handler that answers malformed requests
 *   (bad request line or headers, invalid chunked encoding, oversized headers, header
 *   timeout) with a JSON 400 / 431 / 408 whenever nothing was written on the connection
 *   yet, then closes it. Node's own handler stays silent once a request was dispatched,
 *   which is the case for a body whose chunked framing breaks mid-way.
 * - `lingerOnClose`: after an early answer (413 while the client is still sending), keep
 *   reading and discarding what the client sends, up to a bound, before closing, as
 *   nginx's lingering_close does. Closing a socket with unread data makes the kernel send
 *   a reset, and the reset discards the answer before the client reads it.
 */
import http from 'node:http';
import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';

export interface LingerOptions {
  /** Longest time to keep reading after the answer. @default 5000 */
  readonly maxMs?: number;
  /** Most bytes read and discarded after the answer. @default 16 MiB */
  readonly maxBytes?: number;
}

export const DEFAULT_LINGER_MS = 5_000;
export const DEFAULT_LINGER_BYTES = 16 * 1024 * 1024;

const LINGERING = Symbol('event-mesh.lingering');

/**
 * Make the coming close of `req`'s connection a lingering one. Node closes the connection
 * of a `connection: close` answer with `socket.destroySoon()`; for this socket it now only
 * ends the writing side (the answer and a FIN go out) and keeps draining the request
 * until the client closes, `maxBytes` more arrived or `maxMs` passed, then destroys it.
 * The request body must be flowing (readBody resumes it).
 */
export function lingerOnClose(req: IncomingMessage, options: LingerOptions = {}): void {
  const socket = req.socket as Socket & { [LINGERING]?: true };
  if (!socket || socket.destroyed || socket[LINGERING]) return;
  socket[LINGERING] = true;
  const maxMs = options.maxMs ?? DEFAULT_LINGER_MS;
  const maxBytes = options.maxBytes ?? DEFAULT_LINGER_BYTES;
  let drained = 0;
  let timer: NodeJS.Timeout | undefined;
  const stop = () => {
    if (timer) clearTimeout(timer);
    timer = undefined;
    if (!socket.destroyed) socket.destroy();
  };
  req.on('data', (chunk: Buffer) => {
    drained += chunk.length;
    if (drained > maxBytes) stop();
  });
  socket.once('close', () => {
    if (timer) clearTimeout(timer);
  });
  socket.destroySoon = function lingeringClose(this: Socket): void {
    if (this.writable) this.end();
    // Both sides ended: the socket destroys itself. Otherwise the timer does.
    timer = setTimeout(stop, maxMs);
    timer.unref();
  };
}

export interface ClientErrorLogger {
  debug(obj: object, msg: string): void;
}

/** The status for a parser error code: 431 for oversized headers, 408 for a timeout, else 400. */
export function clientErrorStatus(code: string | undefined): 400 | 408 | 431 {
  if (code === 'HPE_HEADER_OVERFLOW') return 431;
  if (code === 'ERR_HTTP_REQUEST_TIMEOUT') return 408;
  return 400;
}

/**
 * A 'clientError' handler: `server.on('clientError', answerClientError(logger))`. Answers
 * with a JSON error when nothing was written on the connection yet (also when a request
 * was already dispatched, e.g. its chunked body is malformed), then closes the connection.
 */
export function answerClientError(logger: ClientErrorLogger): (err: NodeJS.ErrnoException, socket: Duplex) => void {
  return (err, socket) => {
    logger.debug({ err: err.message, code: err.code }, 'malformed HTTP request');
    const s = socket as Socket & { _httpMessage?: { headersSent?: boolean } };
    const answered = s._httpMessage?.headersSent === true || (typeof s.bytesWritten === 'number' && s.bytesWritten > 0);
    if (!s.writable || answered || err.code === 'ECONNRESET') {
      s.destroy();
      return;
    }
    const status = clientErrorStatus(err.code);
    const body = JSON.stringify({ error: status === 431 ? 'headers_too_large' : status === 408 ? 'request_timeout' : 'bad_request', message: `malformed HTTP request (${err.code ?? err.message}): check the request line, headers and body framing (Content-Length or valid chunked encoding)` });
    // Reply, then drop the connection: the peer may never close its side (slowloris).
    s.end(`HTTP/1.1 ${status} ${http.STATUS_CODES[status]}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`, () => s.destroy());
  };
}
