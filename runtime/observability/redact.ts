/** Redacting credentials out of values that are logged (pure). */

/**
 * A URL fit for logs and error messages: credentials in its userinfo replaced by
 * "[redacted]" (`nats://user:[redacted]@host:4222`; a lone token `nats://[redacted]@host`).
 * Pure. Text that is not a URL with userinfo comes back unchanged.
 */
export function redactUrlCredentials(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/)([^@/?#]*)@/i, (_m, scheme: string, userinfo: string) => {
    const colon = userinfo.indexOf(':');
    return colon < 0 ? `${scheme}[redacted]@` : `${scheme}${userinfo.slice(0, colon)}:[redacted]@`;
  });
}
