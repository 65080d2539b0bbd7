/**
 * The limit column: the least a server can do for the same clients. uWebSockets.js on its own (the native binding
 * the hub runs on), no auth, no permission table, no bus, no history: a `sub` frame joins the uWS topic, and a
 * publish numbers the message and hands one frame to `app.publish`. It speaks the opshub frames the bench's
 * subscribers read, so the very same client code measures it. Nothing opshub does on top is free; this shows how
 * far from free it is.
 *
 * Environment (set by the driver): BENCH_EVENT.
 */
import { loadNativeUws } from '@opshub/hub/native-uws';
import { requireEnv } from './env.ts';
import { runServer } from './server-runtime.ts';

const event = requireEnv('BENCH_EVENT');
const uws = loadNativeUws();
const app = uws.App();
const seqs = new Map<string, number>();
const decoder = new TextDecoder();
let connections = 0;

app.ws('/ws', {
  maxPayloadLength: 64 * 1024,
  maxBackpressure: 16 * 1024 * 1024,
  idleTimeout: 0,
  open: () => {
    connections++;
  },
  close: () => {
    connections--;
  },
  message: (ws, data) => {
    const frame = JSON.parse(decoder.decode(data)) as { op?: string; topic?: string; id?: unknown };
    if (frame.op === 'sub' && typeof frame.topic === 'string') {
      ws.subscribe(frame.topic);
      ws.send(JSON.stringify({ op: 'ok', id: frame.id, result: { seq: seqs.get(frame.topic) ?? 0 } }));
    } else if (frame.op === 'ping') {
      ws.send('{"op":"pong"}');
    }
  },
});

const listen = await new Promise<{ socket: unknown; port: number }>((resolve, reject) =>
  app.listen('127.0.0.1', 0, (socket) => (socket ? resolve({ socket, port: uws.us_socket_local_port(socket) }) : reject(new Error('uWS could not listen')))),
);

runServer({
  port: listen.port,
  publish(channel, payload) {
    const topic = `event/${event}/${channel}`;
    const seq = (seqs.get(topic) ?? 0) + 1;
    seqs.set(topic, seq);
    app.publish(topic, ['{"op":"msg","topic":', JSON.stringify(topic), ',"seq":', String(seq), ',"ts":', String(Date.now()), ',"data":', JSON.stringify(payload), '}'].join(''), false, false);
  },
  connections: () => connections,
  async close() {
    uws.us_listen_socket_close(listen.socket as never);
  },
});
