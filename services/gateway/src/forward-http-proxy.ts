import httpProxy from '@fastify/http-proxy';
import type { FastifyReplyFromHooks } from '@fastify/reply-from';
import type { FastifyInstance } from 'fastify';
import type { Dispatcher } from 'undici';
import { sendFailure } from './exchange.js';
import { clientResponseHeaders, type ForwarderDeps } from './forward-undici.js';

const OPAQUE = 'application/octet-stream';

/** reply-from's undici response carries the upstream headers (its type only names the stream). */
const upstreamHeaders = (res: unknown) => (res as { headers: Record<string, unknown> }).headers;

/**
 * FORWARDER=http-proxy: the same API through @fastify/http-proxy (reply-from), the upstream
 * chosen per request by `replyOptions.getUpstream`. Kept beside the lean forwarder so the
 * cost of the library is measured, not assumed (make perf prints both).
 */
export async function registerHttpProxyForwarder(scope: FastifyInstance, deps: ForwarderDeps): Promise<void> {
  const { exchanges } = deps;
  const replyOptions: FastifyReplyFromHooks = {
    // reply-from hands over its own copy of the client's headers: set the type in place.
    rewriteRequestHeaders: (_request, headers) => {
      headers['content-type'] = 'application/json';
      return headers;
    },
    getUpstream: (request) => request.upstream?.origin ?? '',
    // Called once per upstream answer, before anything is sent: the replica is done with the
    // request, so its place is given back here (also when the client has already hung up,
    // for which reply-from skips onResponse). Hop-by-hop headers are not passed on.
    rewriteHeaders: (headers, request) => {
      if (request) exchanges.release(request);
      return clientResponseHeaders(headers);
    },
    onResponse: (request, reply, res) => {
      if (exchanges.answered(request, res.statusCode, upstreamHeaders(res))) {
        res.stream.resume();
        return reply.from(request.url, replyOptions);
      }
      // Read whole and sent as one Buffer: piping the stream cost events, end-of-stream
      // listeners and extra writes per request.
      (res.stream as unknown as Dispatcher.ResponseData['body']).bytes().then(
        (bytes) => reply.send(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)),
        (error: Error) => replyOptions.onError?.(reply as never, { error }),
      );
    },
    onError: (reply, { error }) => {
      const { failure, retry } = exchanges.failed(reply.request, error);
      if (retry) return reply.from(reply.request.url, replyOptions);
      sendFailure(reply, failure);
    },
  };

  // Normally given back when the replica answers or fails; this catches a request answered
  // before it reached a replica (a destination http-proxy refused).
  scope.addHook('onResponse', (request, _reply, done) => {
    exchanges.release(request);
    done();
  });
  await scope.register(httpProxy, {
    // reply-from logs every upstream failure at warn; during a replica outage that is a flood.
    logLevel: 'error',
    disableRequestLogging: true,
    // Upstream is chosen per request by getUpstream; this placeholder is never used.
    upstream: '',
    prefix: '/predict',
    rewritePrefix: '/predict',
    // The API's two endpoints, as the lean forwarder serves them.
    routes: ['/', '/batch'],
    httpMethods: ['POST'],
    undici: deps.clients as unknown as Dispatcher,
    proxyPayloads: false,
    preHandler: (request, reply, done) => {
      // reply-from re-serializes application/json bodies with JSON.stringify (a Buffer would
      // become {"type":"Buffer",…}); presenting the bytes as opaque keeps them verbatim, and
      // rewriteRequestHeaders restores the real type on the upstream request.
      request.raw.headers['content-type'] = OPAQUE;
      if (deps.beforeForward(request, reply)) done();
    },
    // http-proxy's own handler returns the reply, which Fastify treats as a promise: it hung
    // an end-of-stream watcher (five listeners) on every response. Ours returns nothing.
    handler: (_request, reply, dest, options) => {
      reply.from(dest, options);
    },
    replyOptions,
  });
}
