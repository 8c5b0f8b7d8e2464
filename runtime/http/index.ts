/**
 * Small HTTP helpers shared by the adapter and the dispatcher: bounded body reading and
 * JSON replies in the runtime's error format `{"error", "attribute"?, "message"}`.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { lingerOnClose } from './framing';

export { answerClientError, clientErrorStatus, lingerOnClose, DEFAULT_LINGER_BYTES, DEFAULT_LINGER_MS } from './framing';
export type { LingerOptions } from './framing';

/** The request body exceeded the limit: answer 413. Reading stopped at the limit. */
export class BodyTooLargeError extends Error {
  readonly limit: number;
  constructor(limit: number) {
    super(`the request body is larger than ${limit} bytes: send smaller events or batches (the limit is set with --max-body-bytes / MAX_BODY_BYTES)`);
    this.name = 'BodyTooLargeError';
    this.limit = limit;
  }
}

/** The client went away (or the socket failed) before the body was complete. */
export class RequestAbortedError extends Error {
  constructor(message = 'the request was aborted before its body was complete') {
    super(message);
    this.name = 'RequestAbortedError';
  }
}

/**
 * Read the whole body, at most `maxBytes`. Rejects with BodyTooLargeError as soon as the
 * limit is passed (a Content-Length above it is refused before reading anything) and with
 * RequestAbortedError when the request is aborted. After BodyTooLargeError the rest of
 * the body is drained and the connection's close lingers (lingerOnClose), so the 413
 * reaches a client that is still sending.
 */
export function readBody(req: IncomingMessage, maxBytes: number): Promise<Buffer> {
  const declared = req.headers['content-length'];
  if (declared !== undefined) {
    const n = Number(declared);
    if (Number.isFinite(n) && n > maxBytes) {
      lingerOnClose(req);
      req.resume();
      return Promise.reject(new BodyTooLargeError(maxBytes));
    }
  }
  // Listeners stay attached once settled (the request is done with): cheaper than
  // removing them, and every one of them is a no-op after the first outcome.
  return new Promise((resolve, reject) => {
    let first: Buffer | undefined;
    let more: Buffer[] | undefined;
    let size = 0;
    let done = false;
    req.on('data', (chunk: Buffer) => {
      if (done) return;
      size += chunk.length;
      if (size > maxBytes) {
        // Stop buffering; keep draining so a reply can still be written.
        done = true;
        first = more = undefined;
        lingerOnClose(req);
        req.resume();
        reject(new BodyTooLargeError(maxBytes));
        return;
      }
      if (first === undefined) first = chunk;
      else (more ??= [first]).push(chunk);
    });
    req.on('end', () => {
      if (done) return;
      done = true;
      resolve(more ? Buffer.concat(more, size) : (first ?? Buffer.alloc(0)));
    });
    req.on('error', (e: Error) => {
      if (done) return;
      done = true;
      reject(new RequestAbortedError(`the request failed while reading its body: ${e.message}`));
    });
    // An aborted request ('aborted', deprecated) always ends with 'close' before 'end'.
    req.on('close', () => {
      if (done || req.complete) return;
      done = true;
      reject(new RequestAbortedError());
    });
  });
}

/** Write a JSON reply (no-op if the response is already finished or the socket is gone). */
export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string | number> = {}): void {
  if (res.headersSent || res.writableEnded || res.destroyed) return;
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

/** The runtime's error body: `{"error": code, "attribute"?, "message"}`. */
export interface ErrorBody {
  error: string;
  attribute?: string;
  message: string;
}

export function sendError(
  res: ServerResponse,
  status: number,
  error: string,
  message: string,
  options: { attribute?: string; headers?: Record<string, string | number> } = {},
): void {
  const body: ErrorBody = options.attribute === undefined ? { error, message } : { error, attribute: options.attribute, message };
  sendJson(res, status, body, options.headers);
}
