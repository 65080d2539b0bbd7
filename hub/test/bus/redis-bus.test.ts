import { spawn } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { BusUnavailableError } from '../../src/bus/bus.ts';
import { silentBusLog } from '../../src/bus/bus-log.ts';
import { RedisBus, type RedisBusOptions } from '../../src/bus/redis/redis-bus.ts';
import { describeWithService } from '../support/services.ts';
import { busContract, collect, range } from './bus-contract.ts';
import { TcpProxy } from '../support/tcp-proxy.ts';

describeWithService('REDIS_URL', 'RedisBus', (url) => {
  // Every key and channel of this run lives under one random prefix, deleted at the end.
  const runPrefix = `opshub-test:${randomBytes(6).toString('hex')}:`;
  const admin = new Redis(url, { lazyConnect: true });
  const buses: RedisBus[] = [];

  function open(options: Partial<RedisBusOptions> = {}): RedisBus {
    const bus = new RedisBus({ url, keyPrefix: `${runPrefix}${randomUUID()}:`, log: silentBusLog, ...options });
    buses.push(bus);
    return bus;
  }

  beforeAll(async () => {
    await admin.connect();
  });

  afterEach(async () => {
    await Promise.all(buses.splice(0).map((bus) => bus.close()));
  });

  afterAll(async () => {
    let cursor = '0';
    do {
      const [next, keys] = await admin.scan(cursor, 'MATCH', `${runPrefix}*`, 'COUNT', 1000);
      if (keys.length > 0) await admin.unlink(...keys);
      cursor = next;
    } while (cursor !== '0');
    await admin.quit();
  });

  busContract(
    'RedisBus',
    ({ namespace, retention }) => new RedisBus({ url, keyPrefix: `${runPrefix}${namespace}:`, retention, log: silentBusLog }),
    { crossNodeSignals: true },
  );

  describe('RedisBus on a real server', () => {
    it('keeps a topic in hash-tagged keys: a permanent counter and epoch, and expiring history', async () => {
      const keyPrefix = `${runPrefix}${randomUUID()}:`;
      const bus = open({ keyPrefix });
      await bus.start();
      const topic = 'event/e1/alerts';
      const published = await bus.publish(topic, { a: 1 });
      const keys = (await admin.keys(`${keyPrefix}*`)).sort();
      expect(keys).toEqual([`${keyPrefix}epoch`, `${keyPrefix}{${topic}}:bytes`, `${keyPrefix}{${topic}}:log`, `${keyPrefix}{${topic}}:seq`, `${keyPrefix}{${topic}}:ts`]);
      // The counter and the epoch that names its sequence space never expire.
      expect(await admin.ttl(`${keyPrefix}{${topic}}:seq`)).toBe(-1);
      expect(await admin.ttl(`${keyPrefix}epoch`)).toBe(-1);
      // The byte count of the log expires with it.
      expect(Number(await admin.get(`${keyPrefix}{${topic}}:bytes`))).toBe(Buffer.byteLength(published.frame));
      for (const key of [`${keyPrefix}{${topic}}:log`, `${keyPrefix}{${topic}}:ts`, `${keyPrefix}{${topic}}:bytes`]) {
        const ttl = await admin.ttl(key);
        expect(ttl).toBeGreaterThan(86_000);
        expect(ttl).toBeLessThanOrEqual(86_400);
      }
    });

    it('stores history and ts lists in lockstep while trimming, and counts the bytes the log holds', async () => {
      const keyPrefix = `${runPrefix}${randomUUID()}:`;
      const bus = open({ keyPrefix, retention: { messages: 2, ms: 0, maxMessages: 4, maxBytes: 1 << 20 } });
      await bus.start();
      for (let i = 0; i < 9; i++) await bus.publish('t', i);
      expect(await admin.llen(`${keyPrefix}{t}:log`)).toBe(2);
      expect(await admin.llen(`${keyPrefix}{t}:ts`)).toBe(2);
      const frames = await admin.lrange(`${keyPrefix}{t}:log`, 0, -1);
      expect(Number(await admin.get(`${keyPrefix}{t}:bytes`))).toBe(frames.reduce((sum, f) => sum + Buffer.byteLength(f), 0));
    });

    it('recovers when the server forgot the scripts (EVALSHA falls back to EVAL)', async () => {
      const bus = open();
      await bus.start();
      expect((await bus.publish('t', 1)).seq).toBe(1);
      // SCRIPT FLUSH only empties a cache that EVAL refills; other users of the server are unaffected.
      await admin.script('FLUSH');
      expect((await bus.publish('t', 2)).seq).toBe(2);
      expect((await bus.history('t', 0)).kind).toBe('messages');
    });

    it('rejects at once with BusUnavailableError while Redis is unreachable', async () => {
      const bus = open({ url: `redis://127.0.0.1:${await closedPort()}` });
      await expect(bus.start()).rejects.toBeInstanceOf(BusUnavailableError);
      expect(bus.isHealthy()).toBe(false);
      const started = performance.now();
      await expect(bus.publish('t', 1)).rejects.toBeInstanceOf(BusUnavailableError);
      await expect(bus.signal('c', new Uint8Array([1]))).rejects.toBeInstanceOf(BusUnavailableError);
      await expect(bus.history('t', 0)).rejects.toBeInstanceOf(BusUnavailableError);
      await expect(bus.head('t')).rejects.toBeInstanceOf(BusUnavailableError);
      await expect(bus.subscribe('t', () => {})).rejects.toBeInstanceOf(BusUnavailableError);
      await expect(bus.onSignal('c', () => {})).rejects.toBeInstanceOf(BusUnavailableError);
      expect(performance.now() - started).toBeLessThan(250);
    });

    it('after an outage, delivers what was published meanwhile: once, in order, without a new publish', async () => {
      const proxy = await TcpProxy.start(new URL(url).hostname, Number(new URL(url).port || 6379));
      try {
        const keyPrefix = `${runPrefix}${randomUUID()}:`;
        const cut = open({ keyPrefix, url: proxiedUrl(url, proxy.port) });
        const peer = open({ keyPrefix });
        await Promise.all([cut.start(), peer.start()]);
        const received = collect();
        await cut.subscribe('t', received.listener);
        for (let i = 1; i <= 3; i++) await peer.publish('t', i);
        await received.until(3);

        proxy.cut();
        await vi.waitFor(() => expect(cut.isHealthy()).toBe(false));
        const started = performance.now();
        await expect(cut.publish('t', 'during outage')).rejects.toBeInstanceOf(BusUnavailableError);
        await expect(cut.signal('c', new Uint8Array([1]))).rejects.toBeInstanceOf(BusUnavailableError);
        expect(performance.now() - started).toBeLessThan(250);
        for (let i = 4; i <= 10; i++) await peer.publish('t', i);

        proxy.restore();
        await received.until(7 + 3);
        expect(received.messages.map((m) => m.seq)).toEqual(range(1, 10));
        expect(received.messages.map((m) => JSON.parse(m.frame).data)).toEqual(range(1, 10));
        expect(cut.stats().gapsFilled).toBeGreaterThanOrEqual(1);

        // Live delivery resumed too, and the failed publish left no trace.
        await peer.publish('t', 11);
        await received.until(11);
        expect(received.messages.map((m) => m.seq)).toEqual(range(1, 11));
        await vi.waitFor(() => expect(cut.isHealthy()).toBe(true));
        expect((await cut.publish('t', 12)).seq).toBe(12);
      } finally {
        await proxy.close();
      }
    });

    it('survives its subscriber connection being killed while a peer keeps publishing', async () => {
      const keyPrefix = `${runPrefix}${randomUUID()}:`;
      const nodeId = `kill-${randomBytes(4).toString('hex')}`;
      const victim = open({ keyPrefix, nodeId });
      const peer = open({ keyPrefix });
      await Promise.all([victim.start(), peer.start()]);
      const received = collect();
      await victim.subscribe('t', received.listener);
      await peer.publish('t', 1);
      await received.until(1);

      // Only this bus's subscriber connection, found by its name: other clients of the server are left alone.
      const line = (await admin.client('LIST')) as string;
      const id = line.split('\n').find((l) => l.includes(` name=opshub:${nodeId}:sub `))?.match(/^id=(\d+)/)?.[1];
      expect(id).toBeDefined();
      await admin.client('KILL', 'ID', id!);
      for (let i = 2; i <= 30; i++) await peer.publish('t', i);

      await received.until(30);
      expect(received.messages.map((m) => m.seq)).toEqual(range(1, 30));
      await peer.publish('t', 31);
      await received.until(31);
      expect(received.messages.map((m) => m.seq)).toEqual(range(1, 31));
    });

    it('leaves nothing behind that keeps the process alive after close', async () => {
      const fixture = fileURLToPath(new URL('./fixtures/close-exits.ts', import.meta.url));
      const unreachable = `redis://127.0.0.1:${await closedPort()}`;
      for (const [target, mode] of [
        [url, 'used'],
        [unreachable, 'unreachable'],
      ] as const) {
        const result = await runNode(fixture, [target, `${runPrefix}exit:`, mode], 15_000);
        expect(result, `${mode}: ${result.output}`).toMatchObject({ code: 0, timedOut: false });
        expect(result.output).toContain('closed');
      }
    });
  });
});

/** A port nothing listens on (bound once, then released). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

function proxiedUrl(url: string, port: number): string {
  const proxied = new URL(url);
  proxied.hostname = '127.0.0.1';
  proxied.port = String(port);
  return proxied.toString();
}

/** Runs a TypeScript file in a fresh Node process; kills it (and reports timedOut) if it does not exit in time. */
function runNode(file: string, args: string[], timeoutMs: number): Promise<{ code: number | null; timedOut: boolean; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', file, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, timedOut, output });
    });
  });
}
