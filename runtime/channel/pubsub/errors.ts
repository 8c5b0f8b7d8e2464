/**
 * Pub/Sub (gRPC) errors mapped to the channel contract's errors (pure).
 */
import { ChannelFullError, ChannelUnavailableError } from '../channel';

/** The gRPC status codes the channel tells apart. */
export const GrpcCode = {
  CANCELLED: 1,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  ALREADY_EXISTS: 6,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  ABORTED: 10,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  UNAUTHENTICATED: 16,
} as const;

const NAMES = Object.fromEntries(Object.entries(GrpcCode).map(([k, v]) => [v, k]));

export function grpcCode(e: unknown): number | undefined {
  const code = (e as { code?: unknown } | null)?.code;
  return typeof code === 'number' ? code : undefined;
}

export function errText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

export const isNotFound = (e: unknown) => grpcCode(e) === GrpcCode.NOT_FOUND;
export const isAlreadyExists = (e: unknown) => grpcCode(e) === GrpcCode.ALREADY_EXISTS;

/**
 * True when the error says Pub/Sub could not be reached (no answer, or no answer in time),
 * as opposed to an answer such as NOT_FOUND or PERMISSION_DENIED, which proves it is there.
 */
export function isUnreachable(e: unknown): boolean {
  const code = grpcCode(e);
  if (code === undefined) return /ECONNREFUSED|ECONNRESET|ETIMEDOUT|EHOSTUNREACH|ENOTFOUND|socket|connect|channel/i.test(errText(e));
  return code === GrpcCode.UNAVAILABLE || code === GrpcCode.DEADLINE_EXCEEDED || code === GrpcCode.CANCELLED || code === GrpcCode.UNKNOWN || code === GrpcCode.INTERNAL;
}

/**
 * Map an error of the Pub/Sub client to ChannelUnavailableError (answer 503, the client
 * retries). Pub/Sub has no storage limit a publisher can hit, so nothing maps to
 * ChannelFullError; quota exhaustion asks for a longer wait.
 */
export function mapPubSubError(e: unknown, what: string): Error {
  if (e instanceof ChannelUnavailableError || e instanceof ChannelFullError) return e;
  const code = grpcCode(e);
  const name = code !== undefined ? (NAMES[code] ?? `code ${code}`) : undefined;
  const detail = `${name ? `${name}: ` : ''}${errText(e)}`;
  if (code === GrpcCode.RESOURCE_EXHAUSTED) return new ChannelUnavailableError(`${what}: Pub/Sub quota exhausted (${detail})`, 5);
  if (code === GrpcCode.PERMISSION_DENIED || code === GrpcCode.UNAUTHENTICATED) {
    return new ChannelUnavailableError(`${what}: Pub/Sub refused the credentials (${detail}); grant the mesh's service account roles/pubsub.publisher and roles/pubsub.subscriber`, 5);
  }
  return new ChannelUnavailableError(`${what}: Pub/Sub is unavailable (${detail})`, 2);
}
