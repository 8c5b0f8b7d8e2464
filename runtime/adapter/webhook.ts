/**
 * The CloudEvents HTTP Webhook abuse-protection handshake (CloudEvents "HTTP 1.1 Web Hooks
 * for Event Delivery", section 4): a sender asks with `OPTIONS` and `WebHook-Request-Origin`
 * whether it may deliver; the adapter answers `WebHook-Allowed-Origin` (and
 * `WebHook-Allowed-Rate`) for an allowed origin. Pure.
 */

export interface WebhookAnswer {
  readonly status: number;
  readonly headers: Record<string, string>;
  /** JSON error body for refusals. */
  readonly body?: { error: string; message: string };
}

/** `*` allows every origin (the sender is already authenticated). */
export function parseAllowedOrigins(text: string): string[] {
  return text.split(',').map((s) => s.trim().toLowerCase()).filter(Boolean);
}

export function webhookHandshake(headers: Readonly<Record<string, string | string[] | undefined>>, allowedOrigins: readonly string[]): WebhookAnswer {
  const allow = 'POST, OPTIONS';
  const raw = headers['webhook-request-origin'];
  const origin = (Array.isArray(raw) ? raw[0] : raw)?.trim();
  if (!origin) {
    // A plain OPTIONS: say what the endpoint takes.
    return { status: 204, headers: { allow } };
  }
  if (!allowedOrigins.includes('*') && !allowedOrigins.includes(origin.toLowerCase())) {
    return {
      status: 403,
      headers: { allow },
      body: { error: 'origin_not_allowed', message: `WebHook-Request-Origin ${JSON.stringify(origin)} is not allowed to deliver here (allowed: ${allowedOrigins.join(', ') || 'none'})` },
    };
  }
  return { status: 200, headers: { allow, 'webhook-allowed-origin': origin, 'webhook-allowed-rate': '*' } };
}
