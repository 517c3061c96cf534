import { type ShedKind, shedKind } from '@mlbench/balancer';
import { Pool } from 'undici';

export interface PostResult {
  status: number;
  servedBy: string | undefined;
  /** A 503 that did no work: load shed, or a replica draining (see the balancer's shed.ts). */
  shed: ShedKind | undefined;
}

const JSON_HEADERS = { 'content-type': 'application/json' };

/**
 * One POST through undici's dispatch API: the response body is discarded as it arrives,
 * with no stream object or body promise per request (make perf: the driver's own cost per
 * request is what bounds the rate it can sustain).
 */
export function post(pool: Pool, path: string, body: Buffer, timeoutMs: number): Promise<PostResult> {
  return new Promise((resolve, reject) => {
    const res: PostResult = { status: 0, servedBy: undefined, shed: undefined };
    pool.dispatch(
      { path, method: 'POST', headers: JSON_HEADERS, body, headersTimeout: timeoutMs, bodyTimeout: timeoutMs },
      {
        onRequestStart() {},
        onResponseStart(_controller, statusCode, headers) {
          res.status = statusCode;
          const sb = headers['x-served-by'];
          res.servedBy = typeof sb === 'string' ? sb : undefined;
          res.shed = shedKind(statusCode, headers['retry-after'], headers.connection);
        },
        onResponseData() {},
        onResponseEnd() {
          resolve(res);
        },
        onResponseError(_controller, err) {
          reject(err);
        },
      },
    );
  });
}

/** Pools are kept across runs so that a measured run starts on warm connections. */
const pools = new Map<string, Pool>();

export function poolFor(origin: string, connections: number): Pool {
  const key = `${origin}#${connections}`;
  let p = pools.get(key);
  if (!p) {
    p = new Pool(origin, { connections, pipelining: 1, keepAliveTimeout: 60_000, keepAliveMaxTimeout: 60_000 });
    pools.set(key, p);
  }
  return p;
}

export async function closePools(): Promise<void> {
  await Promise.all([...pools.values()].map((p) => p.close().catch(() => p.destroy())));
  pools.clear();
}
