/**
 * The JSON nesting limit, pure: how deeply arrays and objects nest in a JSON text, found
 * in one linear pass over the bytes before anything parses or serializes them.
 *
 * Why: `JSON.stringify`, and every recursive walk over a parsed value, overflows the call
 * stack a few thousand levels deep ("Maximum call stack size exceeded"). A body nested
 * that deeply must be refused at ingress with a 400 that names the limit, never stored
 * (the dispatcher could not encode it for delivery) and never answered with a 5xx.
 *
 * Depth counts the containers around a value: `1` and `"x"` are depth 0, `{}` and `[1]`
 * depth 1, `{"a":[{}]}` depth 3. A structured event (`{… "data": {…}}`) is one level
 * deeper than the same data sent as a binary-mode body.
 */

/** Default `--max-json-depth`: far below the few thousand levels that overflow the stack. */
export const DEFAULT_MAX_JSON_DEPTH = 64;

/** Largest `--max-json-depth` accepted: still well below a stack overflow. */
export const MAX_JSON_DEPTH_LIMIT = 1000;

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_BRACE = 0x7b;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACE = 0x7d;
const CLOSE_BRACKET = 0x5d;

/**
 * The deepest nesting in `text`, or the first depth past `stopAbove` (scanning stops
 * there). Linear in the text. It does not validate the JSON: malformed text is left to
 * JSON.parse (an unbalanced bracket only makes it count deeper or shallower than a parser
 * would, never loop). UTF-8 bytes of non-ASCII characters are all >= 0x80, so scanning
 * bytes is exact.
 */
function scanDepth(text: Uint8Array, stopAbove: number): number {
  let depth = 0;
  let max = 0;
  let inString = false;
  const n = text.length;
  for (let i = 0; i < n; i++) {
    const c = text[i];
    if (inString) {
      if (c === BACKSLASH) i++;
      else if (c === QUOTE) inString = false;
    } else if (c === QUOTE) {
      inString = true;
    } else if (c === OPEN_BRACE || c === OPEN_BRACKET) {
      if (++depth > max) {
        max = depth;
        if (max > stopAbove) return max;
      }
    } else if (c === CLOSE_BRACE || c === CLOSE_BRACKET) {
      depth--;
    }
  }
  return max;
}

/** True when some array or object in `text` nests deeper than `limit` (stops at the first). */
export function exceedsJsonDepth(text: Uint8Array, limit: number): boolean {
  return scanDepth(text, limit) > limit;
}

/** The deepest nesting in `text` (for tests and messages). */
export function jsonDepth(text: Uint8Array): number {
  return scanDepth(text, Infinity);
}

/** The 400 message for a body past the limit: names the limit and the setting. */
export function jsonTooDeepMessage(what: string, limit: number): string {
  return `${what} nests arrays and objects more than ${limit} levels deep: flatten it (the limit is set with --max-json-depth / MAX_JSON_DEPTH)`;
}
