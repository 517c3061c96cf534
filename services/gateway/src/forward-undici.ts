import type { IncomingHttpHeaders } from 'node:http';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { type Dispatcher, util as undiciUtil } from 'undici';
import type { UpstreamClients } from './clients.js';
import { type Exchanges, sendFailure } from './exchange.js';

export interface ForwarderDeps {
  clients: UpstreamClients;
  exchanges: Exchanges;
  /** The API tier's work before a request is forwarded; false when it has answered itself. */
  beforeForward: (request: FastifyRequest, reply: FastifyReply) => boolean;
}

/**
 * Headers that are the connection's, not the request's or the answer's (RFC 9110 §7.6.1),
 * and those the sender writes for the body it sends (undici and Node compute them).
 */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'host',
  'content-length',
]);
/** Also not passed back: Node writes the reply's own date. */
const NOT_RETURNED = new Set([...HOP_BY_HOP, 'date']);

/** The client's end-to-end headers, for the replica; the body is always the JSON we forward. */
export function upstreamRequestHeaders(incoming: IncomingHttpHeaders): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const name in incoming) {
    const value = incoming[name];
    if (value !== undefined && !HOP_BY_HOP.has(name)) out[name] = value;
  }
  // Headers the client named in Connection are hop-by-hop too.
  const listed = incoming.connection;
  if (listed && listed !== 'keep-alive' && listed !== 'close')
    for (const name of listed.split(',')) delete out[name.trim().toLowerCase()];
  out['content-type'] = 'application/json';
  return out;
}

/** The replica's answer headers a client should see (x-served-by, content-type, retry-after, …). */
export function clientResponseHeaders(upstream: Record<string, string | string[] | undefined>) {
  const out: Record<string, string | string[]> = {};
  for (const name in upstream) {
    const value = upstream[name];
    if (value !== undefined && !NOT_RETURNED.has(name)) out[name] = value;
  }
  return out;
}

/**
 * One trip of a request to a replica, as undici's dispatch handler: the answer is collected
 * as it arrives and handed over whole. undici's `request()` wraps every answer in a Readable
 * stream inside an async-hooks resource and hands its end over through the stream's events;
 * for an answer of a few hundred bytes that machinery cost more than the forwarding itself.
 */
class Trip implements Dispatcher.DispatchHandler {
  private status = 0;
  private rawHeaders: Buffer[] = [];
  private readonly chunks: Buffer[] = [];

  constructor(
    private readonly forwarder: Forwarder,
    readonly request: FastifyRequest,
    readonly reply: FastifyReply,
    readonly path: string,
  ) {}

  onConnect(): void {}

  onHeaders(statusCode: number, rawHeaders: Buffer[]): boolean {
    // 1xx interim answers are not the answer.
    if (statusCode >= 200) {
      this.status = statusCode;
      this.rawHeaders = rawHeaders;
    }
    return true;
  }

  onData(chunk: Buffer): boolean {
    this.chunks.push(chunk);
    return true;
  }

  onComplete(): void {
    const body = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks);
    this.forwarder.answered(this, this.status, undiciUtil.parseHeaders(this.rawHeaders), body);
  }

  onError(error: Error): void {
    this.forwarder.failed(this, error);
  }
}

/**
 * The gateway's own forwarder: each request is one undici dispatch to the chosen replica's
 * pool with the buffered body, and one Buffer answer. It does what the @fastify/http-proxy
 * path does for this API (a fixed route per endpoint, so no destination to parse or
 * validate per request), without the per-request URL building, header copies, retry
 * closures, promise wrapping and response stream that cost that path about a fifth of the
 * gateway's throughput (make perf prints both).
 */
class Forwarder {
  constructor(private readonly deps: ForwarderDeps) {}

  send(request: FastifyRequest, reply: FastifyReply, path: string): void {
    const u = request.upstream!;
    this.deps.clients
      .pool(u.origin)
      .dispatch(
        { path, method: 'POST', headers: upstreamRequestHeaders(request.headers), body: request.body as Buffer },
        new Trip(this, request, reply, path),
      );
  }

  failed(trip: Trip, error: unknown): void {
    const { failure, retry } = this.deps.exchanges.failed(trip.request, error);
    if (retry) this.send(trip.request, trip.reply, trip.path);
    else if (!trip.reply.sent) sendFailure(trip.reply, failure);
  }

  answered(trip: Trip, status: number, headers: Record<string, string | string[] | undefined>, body: Buffer): void {
    const { request, reply } = trip;
    if (this.deps.exchanges.answered(request, status, headers)) {
      this.send(request, reply, trip.path);
      return;
    }
    // The client hung up while the replica worked: nothing to answer.
    // (The request stream itself reads destroyed once its body is consumed: the socket tells.)
    if (reply.raw.destroyed || request.socket.destroyed) return;
    // clientResponseHeaders' rule, set straight on the reply: no object built per request.
    for (const name in headers) {
      const value = headers[name];
      if (value !== undefined && !NOT_RETURNED.has(name)) reply.header(name, value);
    }
    // One Buffer, which Fastify writes with its headers at once.
    reply.code(status).send(body);
  }
}

export function registerUndiciForwarder(scope: FastifyInstance, deps: ForwarderDeps): void {
  const forwarder = new Forwarder(deps);
  // The API tier's work (preprocess, choose a replica or answer 503) runs in the handler
  // itself, not as a preHandler hook: the hook runner cost about 1 µs a request.
  const { beforeForward } = deps;
  for (const path of ['/predict', '/predict/batch']) {
    scope.post(path, (request, reply) => {
      if (!beforeForward(request, reply)) return;
      const q = request.url.indexOf('?');
      forwarder.send(request, reply, q < 0 ? path : path + request.url.slice(q));
    });
  }
}
