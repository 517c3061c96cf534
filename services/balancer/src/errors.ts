/**
 * One classification of upstream failures, for every user of the balancer: what a
 * timeout is (504, not retried), what a connection failure is (502, ejects, retried
 * elsewhere), and the code a failure is counted under.
 */
const TIMEOUT_CODES = new Set([
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'UND_ERR_CONNECT_TIMEOUT',
  'ETIMEDOUT',
  'FST_REPLY_FROM_GATEWAY_TIMEOUT',
  'FST_REPLY_FROM_CONNECT_TIMEOUT',
]);
/** Failures that mean the replica is not there: eject it until its health check passes. */
const CONNECTION_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'UND_ERR_SOCKET',
]);
/** Nothing listens there (or no route to it): a health check need not wait for a second try. */
const DEFINITELY_DOWN = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND']);

export interface UpstreamFailure {
  status: 502 | 504;
  code: string;
  connectionFailure: boolean;
  message: string;
}

/**
 * The code of an error: the first one we classify anywhere in its cause chain (reply-from
 * wraps undici's error; undici may wrap the socket's), else its own code.
 */
export function upstreamErrorCode(err: unknown): string | undefined {
  let e = err as { code?: unknown; cause?: unknown } | undefined;
  for (let depth = 0; e && depth < 4; depth++) {
    const code = e.code;
    if (
      typeof code === 'string' &&
      (TIMEOUT_CODES.has(code) || CONNECTION_CODES.has(code) || DEFINITELY_DOWN.has(code))
    )
      return code;
    e = e.cause as typeof e;
  }
  // A DOMException (an aborted signal) has a numeric code: that is no name to count under.
  const own = (err as { code?: unknown } | undefined)?.code;
  return typeof own === 'string' ? own : undefined;
}

/** The name a failure is counted under: its code, else (an abort, say) its class name. */
export function failureName(err: unknown): string {
  return upstreamErrorCode(err) ?? (err as { name?: string } | undefined)?.name ?? 'ERROR';
}

export function classifyUpstreamError(err: unknown): UpstreamFailure {
  const code = upstreamErrorCode(err) ?? 'UNKNOWN';
  if (TIMEOUT_CODES.has(code))
    return { status: 504, code, connectionFailure: code === 'UND_ERR_CONNECT_TIMEOUT', message: 'upstream timed out' };
  return {
    status: 502,
    code,
    connectionFailure: CONNECTION_CODES.has(code) || code === 'UNKNOWN',
    message: `upstream connection failed (${code})`,
  };
}

export function isDefinitelyDown(err: unknown): boolean {
  return DEFINITELY_DOWN.has(upstreamErrorCode(err) ?? '');
}
