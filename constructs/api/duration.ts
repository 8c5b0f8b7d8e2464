/**
 * ISO-8601 durations as Knative's delivery spec uses them (`PT0.2S`, `PT1M`, `P1DT2H`).
 * Years and months are rejected: their length is not fixed, so they cannot be a timeout.
 */
const ISO_DURATION = /^P(?:(\d+(?:\.\d+)?)W)?(?:(\d+(?:\.\d+)?)D)?(?:T(?:(\d+(?:\.\d+)?)H)?(?:(\d+(?:\.\d+)?)M)?(?:(\d+(?:\.\d+)?)S)?)?$/;

/**
 * The same grammar as a JSON-Schema `pattern` (RE2-compatible), for CRD validation. The API
 * server cannot reject "P" or "PT" with it alone; parseIsoDuration does.
 */
export const ISO_DURATION_PATTERN = ISO_DURATION.source;

const MS = { week: 604_800_000, day: 86_400_000, hour: 3_600_000, minute: 60_000, second: 1_000 };

/** Milliseconds in an ISO-8601 duration, or undefined when `text` is not one. */
export function parseIsoDuration(text: string): number | undefined {
  if (typeof text !== 'string') return undefined;
  const m = ISO_DURATION.exec(text);
  if (!m || text === 'P' || text.endsWith('T')) return undefined;
  const [, w, d, h, min, s] = m;
  if (w === undefined && d === undefined && h === undefined && min === undefined && s === undefined) return undefined;
  const n = (v: string | undefined) => (v === undefined ? 0 : Number(v));
  return Math.round(n(w) * MS.week + n(d) * MS.day + n(h) * MS.hour + n(min) * MS.minute + n(s) * MS.second);
}

/** True when `text` is an ISO-8601 duration this project accepts. */
export function isIsoDuration(text: string): boolean {
  return parseIsoDuration(text) !== undefined;
}

/**
 * Go-style durations as the NATS chart's values use them (`24h`, `48h`, `90m`, `1h30m`).
 * Returns milliseconds, or undefined when `text` is not one.
 */
export function parseGoDuration(text: string): number | undefined {
  if (typeof text !== 'string' || !/^(?:\d+(?:\.\d+)?(?:h|m|s|ms))+$/.test(text)) return undefined;
  const unit: Record<string, number> = { h: MS.hour, m: MS.minute, s: MS.second, ms: 1 };
  let total = 0;
  // Sticky: each part starts where the last ended (linear; the pattern above already matched).
  for (const part of text.matchAll(/(\d+(?:\.\d+)?)(ms|h|m|s)/gy)) total += Number(part[1]) * unit[part[2]];
  return Math.round(total);
}
