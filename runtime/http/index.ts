/**
 * Small HTTP helpers shared by the adapter and the dispatcher: bounded body reading and
 * JSON replies in the runtime's error format `{"error", "attribute"?, "message"}`.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

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
 * RequestAbortedError when the request is aborted.
 */
export function readBody(req: IncomingMessage, maxBytes: number): Promise<Buffer> {
  const declared = req.headers['content-length'];
  if (declared !== undefined) {
    const n = Number(declared);
    if (Number.isFinite(n) && n > maxBytes) {
      req.resume();
      return Promise.reject(new BodyTooLargeError(maxBytes));
    }
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    const finish = (err: Error | undefined, body?: Buffer) => {
      if (done) return;
      done = true;
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      req.off('aborted', onAborted);
      req.off('close', onClose);
      if (err) reject(err);
      else resolve(body!);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBytes) {
        // Stop buffering; keep draining so a reply can still be written.
        req.resume();
        finish(new BodyTooLargeError(maxBytes));
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = () => finish(undefined, chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, size));
    const onError = (e: Error) => finish(new RequestAbortedError(`the request failed while reading its body: ${e.message}`));
    const onAborted = () => finish(new RequestAbortedError());
    const onClose = () => {
      if (!req.complete) finish(new RequestAbortedError());
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
    req.on('aborted', onAborted);
    req.on('close', onClose);
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
