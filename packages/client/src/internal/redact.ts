/** What replaces a secret in any text that leaves the client. */
export const REDACTED = '[REDACTED]';

/** Replaces every occurrence of `secret` in `text`. */
export function redact(text: string, secret: string): string {
  return text.includes(secret) ? text.split(secret).join(REDACTED) : text;
}

const MAX_CAUSE_DEPTH = 4;

/**
 * A detached copy of an error for use as `cause`: name, code, message and stack with `secret` scrubbed, and the same
 * for its own causes. No references to sockets, requests or headers survive, so nothing can leak through them.
 */
export function sanitizeCause(value: unknown, secret: string, depth = 0): Error {
  if (!(value instanceof Error)) return new Error(redact(String(value), secret));
  const copy = new Error(redact(value.message, secret));
  copy.name = value.name;
  copy.stack = value.stack === undefined ? undefined : redact(value.stack, secret);
  const code = (value as { code?: unknown }).code;
  if (typeof code === 'string' || typeof code === 'number') {
    (copy as Error & { code?: string | number }).code =
      typeof code === 'string' ? redact(code, secret) : code;
  }
  if (value.cause !== undefined && depth < MAX_CAUSE_DEPTH) {
    copy.cause = sanitizeCause(value.cause, secret, depth + 1);
  }
  return copy;
}
