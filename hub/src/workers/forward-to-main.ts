import { Agent, request, type IncomingMessage } from 'node:http';
import type { HttpResponse, TemplatedApp, WebSocket as UwsSocket } from 'uWebSockets.js';
import { WebSocket } from 'ws';
import { addressFromBytes } from '../transport/client-address.ts';
import { FORWARDED_PEER } from '../transport/forwarded-peer.ts';

/** Request headers that belong to one hop, not to the request. */
const HOP_REQUEST = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'te', 'trailer', 'upgrade', FORWARDED_PEER]);
/** Response headers uWS writes itself (or that belong to the hop between worker and main thread). */
const HOP_RESPONSE = new Set(['connection', 'keep-alive', 'transfer-encoding', 'content-length', 'date', 'uwebsockets']);

interface YjsPipe {
  readonly upstream: WebSocket;
  /** frames the main thread sent before uWS opened the client's socket */
  pending: { data: Buffer; binary: boolean }[] | undefined;
  /** the client's socket is open (uWS forbids touching a closed one) */
  clientOpen: boolean;
}

/**
 * A socket worker's answer to everything but `/ws`: REST, the console's files and `/yjs` are forwarded to the main
 * thread's loopback listener, which runs them as on the single-thread path. The client's address travels in a
 * header only the hub's workers can set (it carries a secret the main thread made; see forwarded-peer.ts), so
 * per-client limits and `X-Forwarded-For` handling see the client, not the worker.
 *
 * Each forwarded answer closes its connection (no keep-alive through a worker): an idle keep-alive connection is a
 * socket the worker cannot find to close when the hub stops, and Node aborts the process if a worker's loop is torn
 * down while uWS holds one. A sized answer is ended with the close; a streamed one (a CSV export) tells the client
 * `Connection: close`, and a client that holds on anyway is closed by uWS's 10 s HTTP idle timeout, within the 12 s a
 * stopping hub waits for its workers. REST through a worker pays a TCP handshake per request; `/ws` is untouched.
 */
export function registerForwarding(app: TemplatedApp, options: { internalPort: number; hopSecret: string; accepting: () => boolean }): { stop(): void } {
  const { internalPort, hopSecret } = options;
  const agent = new Agent({ keepAlive: true });
  // What is open, so that stopping closes it all: uWS keeps the thread alive while it holds any socket.
  const requests = new Set<HttpResponse>();
  const pipes = new Set<UwsSocket<YjsPipe>>();
  const peerHeader = (res: HttpResponse) => `${hopSecret} ${addressFromBytes(res.getRemoteAddress())}`;

  app.any('/*', (res, req) => {
    const method = req.getCaseSensitiveMethod();
    const query = req.getQuery();
    const headers: Record<string, string> = {};
    req.forEach((name, value) => {
      if (!HOP_REQUEST.has(name)) headers[name] = value;
    });
    headers[FORWARDED_PEER] = peerHeader(res);
    const chunked = req.getHeader('transfer-encoding') !== '';
    const upstream = request({ host: '127.0.0.1', port: internalPort, method, path: req.getUrl() + (query ? `?${query}` : ''), headers, agent });
    let aborted = false;
    let answered = false;
    requests.add(res);
    res.onAborted(() => {
      aborted = true;
      requests.delete(res);
      upstream.destroy();
    });
    // uWS hands the body only to a handler set now; a request without one is sent on at once.
    const length = Number(headers['content-length'] ?? 0);
    if (chunked || length > 0) {
      res.onData((chunk, isLast) => {
        upstream.write(Buffer.from(chunk.slice(0)));
        if (isLast) upstream.end();
      });
    } else {
      upstream.end();
    }
    upstream.on('response', (answer) => {
      answered = true;
      if (aborted) return void answer.destroy();
      relayResponse(res, answer, method === 'HEAD', () => aborted, () => requests.delete(res));
    });
    upstream.on('error', () => {
      if (aborted) return;
      aborted = true;
      requests.delete(res);
      if (answered) return void res.close();
      res.cork(() => res.writeStatus('502 Bad Gateway').writeHeader('content-type', 'application/json').end('{"error":"internal","message":"hub main thread unreachable"}', true));
    });
  });

  app.ws<YjsPipe>('/yjs/*', {
    // The main thread's /yjs endpoint states and enforces the real limits; this hop only carries frames.
    maxPayloadLength: 64 * 1024 * 1024,
    maxBackpressure: 64 * 1024 * 1024,
    idleTimeout: 0,
    upgrade: (res, req, context) => {
      const key = req.getHeader('sec-websocket-key');
      const protocol = req.getHeader('sec-websocket-protocol');
      const extensions = req.getHeader('sec-websocket-extensions');
      const query = req.getQuery();
      const headers: Record<string, string> = { [FORWARDED_PEER]: peerHeader(res) };
      for (const name of ['authorization', 'origin', 'user-agent', 'x-forwarded-for']) {
        const value = req.getHeader(name);
        if (value) headers[name] = value;
      }
      const url = `ws://127.0.0.1:${internalPort}${req.getUrl()}${query ? `?${query}` : ''}`;
      if (!options.accepting()) {
        return void res.cork(() => res.writeStatus('503 Service Unavailable').writeHeader('content-type', 'application/json').end('{"error":"unavailable","message":"hub shutting down"}'));
      }
      const upstream = new WebSocket(url, protocol ? protocol.split(',').map((p) => p.trim()) : [], { headers, perMessageDeflate: false });
      const pipe: YjsPipe = { upstream, pending: [], clientOpen: false };
      let aborted = false;
      res.onAborted(() => {
        aborted = true;
        upstream.terminate();
      });
      upstream.on('message', (data: Buffer, binary) => pipe.pending?.push({ data, binary }));
      upstream.once('open', () => {
        if (aborted) return void upstream.close();
        // The main thread accepted: the client's upgrade completes (the decision could not be made in the request
        // handler, as on the single-thread path for a JWKS key not fetched yet; see transport/upgrade.ts).
        res.cork(() => res.upgrade(pipe, key, protocol, extensions, context));
      });
      // The main thread refused (401, 403, 404, …): the client gets that answer, before any upgrade.
      upstream.once('unexpected-response', (_request, answer: IncomingMessage) => {
        if (aborted) return void answer.destroy();
        aborted = true;
        relayResponse(res, answer, false, () => false, () => {});
      });
      upstream.once('error', () => {
        if (aborted || upstream.readyState === WebSocket.OPEN) return;
        aborted = true;
        res.cork(() => res.writeStatus('502 Bad Gateway').end(undefined, true));
      });
    },
    open: (ws) => {
      const pipe = ws.getUserData();
      pipes.add(ws);
      const pending = pipe.pending ?? [];
      pipe.pending = undefined;
      pipe.clientOpen = true;
      ws.cork(() => {
        for (const frame of pending) ws.send(frame.data, frame.binary);
      });
      pipe.upstream.on('message', (data: Buffer, binary) => {
        if (pipe.clientOpen) ws.send(data, binary);
      });
      pipe.upstream.on('close', (code, reason) => {
        if (!pipe.clientOpen) return;
        pipe.clientOpen = false;
        endWith(ws, code, reason.toString());
      });
      pipe.upstream.on('error', () => {});
    },
    message: (ws, message, isBinary) => {
      const { upstream } = ws.getUserData();
      if (upstream.readyState === WebSocket.OPEN) upstream.send(Buffer.from(message.slice(0)), { binary: isBinary });
    },
    close: (ws, code, message) => {
      const pipe = ws.getUserData();
      pipes.delete(ws);
      pipe.clientOpen = false;
      if (code === 1000 || (code >= 3000 && code <= 4999)) pipe.upstream.close(code, Buffer.from(message.slice(0)).toString());
      else pipe.upstream.close();
    },
  });

  return {
    stop() {
      for (const res of [...requests]) res.close();
      for (const ws of [...pipes]) ws.close();
      agent.destroy();
    },
  };
}

/** A close the main thread made reaches the client with its code (the codes that cannot be sent become a plain close). */
function endWith(ws: UwsSocket<YjsPipe>, code: number, reason: string): void {
  if (code === 1005) ws.end(1000);
  else if (code === 1006) ws.close();
  else ws.end(code, reason);
}

/** Streams the main thread's answer to the client, holding the upstream while the client is slow. */
function relayResponse(res: HttpResponse, answer: IncomingMessage, head: boolean, aborted: () => boolean, done: () => void): void {
  const declared = answer.headers['content-length'];
  const streamed = !head && declared === undefined;
  res.cork(() => {
    res.writeStatus(`${answer.statusCode ?? 502} ${answer.statusMessage ?? ''}`.trimEnd());
    for (let i = 0; i < answer.rawHeaders.length; i += 2) {
      const name = answer.rawHeaders[i]!;
      if (!HOP_RESPONSE.has(name.toLowerCase())) res.writeHeader(name, answer.rawHeaders[i + 1]!);
    }
    // A streamed answer's headers end with its first write(), so `end(…, true)` can no longer add `Connection:
    // close`: uWS would write it after the first chunk, where the client reads it as a broken chunk size (a browser
    // then never finishes the download). The header goes out now, and the client closes the connection.
    if (streamed) res.writeHeader('Connection', 'close');
  });
  if (head) {
    answer.resume();
    done();
    return void res.cork(() => res.endWithoutBody(declared === undefined ? undefined : Number(declared), true));
  }
  if (declared !== undefined) {
    // A sized answer (most REST answers) goes out whole, with its length.
    const chunks: Buffer[] = [];
    answer.on('data', (chunk: Buffer) => chunks.push(chunk));
    answer.on('end', () => {
      if (aborted()) return;
      done();
      res.cork(() => res.end(Buffer.concat(chunks), true));
    });
    return;
  }
  answer.on('data', (chunk: Buffer) => {
    if (aborted()) return void answer.destroy();
    let ok = true;
    res.cork(() => (ok = res.write(chunk)));
    if (!ok) {
      answer.pause();
      res.onWritable(() => {
        answer.resume();
        return true;
      });
    }
  });
  answer.on('end', () => {
    if (aborted()) return;
    done();
    res.cork(() => res.end());
  });
}
