/** Map an upstream failure to the gateway's answer: 504 for timeouts, 502 for broken connections. */
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

export interface UpstreamFailure {
  status: 502 | 504;
  code: string;
  connectionFailure: boolean;
  message: string;
}

function codeOf(err: unknown): string | undefined {
  let e = err as { code?: string; cause?: unknown } | undefined;
  // reply-from wraps undici's error; undici may wrap the socket's.
  for (let depth = 0; e && depth < 4; depth++) {
    if (e.code && (TIMEOUT_CODES.has(e.code) || CONNECTION_CODES.has(e.code))) return e.code;
    e = e.cause as typeof e;
  }
  return (err as { code?: string } | undefined)?.code;
}

export function classifyUpstreamError(err: unknown): UpstreamFailure {
  const code = codeOf(err) ?? 'UNKNOWN';
  if (TIMEOUT_CODES.has(code))
    return { status: 504, code, connectionFailure: code === 'UND_ERR_CONNECT_TIMEOUT', message: 'upstream timed out' };
  return {
    status: 502,
    code,
    connectionFailure: CONNECTION_CODES.has(code) || code === 'UNKNOWN',
    message: `upstream connection failed (${code})`,
  };
}
