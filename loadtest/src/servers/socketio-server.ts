/**
 * The baseline: socket.io 4 on Node's http server, websocket transport only, the same HS256 tokens verified with
 * the same jose code in a handshake middleware, `sub` answered by joining a room, and the same in-process
 * publishing: `io.to(room).emit('msg', payload)` on the shared schedule. With BENCH_REDIS_URL it runs the
 * `@socket.io/redis-adapter` (ioredis) under a per-run key, with connection-state recovery switched on.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createAdapter } from '@socket.io/redis-adapter';
import { Redis } from 'ioredis';
import { Server } from 'socket.io';
import { hs256Verifier } from '@opshub/hub/auth/token-verifier';
import type { Claims } from '@opshub/schema';
import { requireEnv } from './env.ts';
import { runServer } from './server-runtime.ts';

const verifier = hs256Verifier(requireEnv('BENCH_SECRET'));
const event = requireEnv('BENCH_EVENT');
const redisUrl = process.env.BENCH_REDIS_URL;

const http = createServer();
const redis = redisUrl ? { pub: new Redis(redisUrl, { lazyConnect: true }), sub: new Redis(redisUrl, { lazyConnect: true }) } : undefined;
if (redis) await Promise.all([redis.pub.connect(), redis.sub.connect()]);

const io = new Server(http, {
  transports: ['websocket'],
  serveClient: false,
  perMessageDeflate: false,
  ...(redis && {
    adapter: createAdapter(redis.pub, redis.sub, { key: requireEnv('BENCH_KEY_PREFIX') }),
    // Asked for so the bench can report whether the adapter honours it (the redis adapter has no session store).
    connectionStateRecovery: { maxDisconnectionDuration: 2 * 60_000, skipMiddlewares: true },
  }),
});

io.use((socket, next) => {
  const token: unknown = socket.handshake.auth?.token;
  if (typeof token !== 'string') return next(new Error('unauthorized'));
  verifier.verify(token).then(
    (claims) => {
      socket.data.claims = claims;
      next();
    },
    () => next(new Error('unauthorized')),
  );
});

io.on('connection', (socket) => {
  socket.on('sub', (room: unknown, ack: unknown) => {
    const claims = socket.data.claims as Claims;
    const ok = typeof room === 'string' && room.length <= 200 && (claims.events.includes('*') || claims.events.includes(event));
    if (ok) socket.join(room);
    if (typeof ack === 'function') ack({ ok });
  });
});

await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));

runServer({
  port: (http.address() as AddressInfo).port,
  publish(channel, payload) {
    io.to(channel).emit('msg', payload);
  },
  connections: () => io.engine.clientsCount,
  async close() {
    io.disconnectSockets(true);
    await new Promise<void>((resolve) => io.close(() => resolve()));
    if (redis) await Promise.allSettled([redis.pub.quit(), redis.sub.quit()]);
  },
});
