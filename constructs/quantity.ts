/**
 * Kubernetes resource quantities (`1Gi`, `256M`, `500m`, `1e3`), parsed the way the API
 * server reads them, so a typo fails at synth time instead of at `kubectl apply`.
 */
const QUANTITY = /^([+-]?(?:\d+(?:\.\d*)?|\.\d+))(Ki|Mi|Gi|Ti|Pi|Ei|[eE][+-]?\d+|m|k|M|G|T|P|E)?$/;

const SUFFIX: Record<string, number> = {
  '': 1,
  m: 1e-3,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
};

/** The value of a quantity in base units (bytes for memory, cores for CPU), or undefined. */
export function parseQuantity(text: string): number | undefined {
  if (typeof text !== 'string') return undefined;
  const m = QUANTITY.exec(text);
  if (!m) return undefined;
  const [, number, suffix = ''] = m;
  const multiplier = /^[eE][+-]?\d+$/.test(suffix) ? 10 ** Number(suffix.slice(1)) : SUFFIX[suffix];
  return Number(number) * multiplier;
}

/** True for a quantity greater than zero, the only kind a size or limit can be. */
export function isPositiveQuantity(text: string): boolean {
  const value = parseQuantity(text);
  return value !== undefined && value > 0;
}
