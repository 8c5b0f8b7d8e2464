/**
 * What a Trigger or Subscription gets when neither it nor its Broker sets a delivery field
 * (pure constants). Retrying is the default, as Knative's `config-br-defaults` has it: an
 * event the mesh accepted is not given up after one failed attempt. The runtime applies
 * these values, and the CRD descriptions and docs state them from here.
 */
export const DEFAULT_RETRY = 10;
export const DEFAULT_BACKOFF_POLICY = 'exponential' as const;
export const DEFAULT_BACKOFF_DELAY = 'PT0.2S';
/** Per-attempt timeout. */
export const DEFAULT_DELIVERY_TIMEOUT = 'PT30S';

/** One sentence for docs and schema descriptions. */
export const DEFAULT_DELIVERY_TEXT =
  `${DEFAULT_RETRY} retries after the first attempt, ${DEFAULT_BACKOFF_POLICY} backoff from ${DEFAULT_BACKOFF_DELAY}, ` +
  `${DEFAULT_DELIVERY_TIMEOUT} per attempt, no dead letter sink (an event still failing after the last retry is dropped and counted)`;
