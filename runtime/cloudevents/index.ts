/**
 * Strict CloudEvents 1.0: validation (`validateEvent`), HTTP decoding
 * (`decodeHttpEvents`: binary, structured, batch), HTTP encoding (`encodeBinary`,
 * `encodeStructured`, `encodeBatch`) and the bytes channels store (`toChannelBytes`,
 * `fromChannelBytes`). Errors are `EventValidationError { status, code, attribute?, message }`.
 *
 * @example ingress
 *   try {
 *     const { events } = decodeHttpEvents(req.headers, body);
 *     for (const ev of events) await channel.publish(topic, toChannelBytes(ev));
 *   } catch (e) {
 *     if (e instanceof EventValidationError) reply(e.status, e.toJSON());
 *   }
 * @example delivery
 *   const ev = fromChannelBytes(msg.data);
 *   const { headers, body } = encodeBinary(ev);
 *   await fetch(url, { method: 'POST', headers, body });
 */
export type { CloudEventJson, ExtensionValue, EventErrorCode } from './event';
export {
  EventValidationError,
  SPEC_VERSION,
  validateEvent,
  isCoreAttribute,
  isRfc3339,
  isUriReference,
  isAbsoluteUri,
  isMediaType,
  isJsonMediaType,
  isBase64,
  isValidAttributeName,
  extensionsOf,
  dataBytes,
} from './event';
export type { HttpMode, EncodedHttpMessage, ChannelEvent, DecodeOptions, DecodedHttpEvents } from './http';
export {
  STRUCTURED_CONTENT_TYPE,
  BATCH_CONTENT_TYPE,
  decodeHttpEvents,
  encodeBinary,
  encodeStructured,
  encodeBatch,
  toChannelBytes,
  fromChannelBytes,
  readChannelEvent,
  percentDecode,
  percentEncode,
} from './http';
export { addTraceHeaders, adoptTraceContext, isValidTraceparent, traceContextFromHeaders } from './trace-context';
export { DEFAULT_MAX_JSON_DEPTH, MAX_JSON_DEPTH_LIMIT, exceedsJsonDepth, jsonDepth, jsonTooDeepMessage } from './json-depth';
