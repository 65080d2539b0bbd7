/**
 * `npm run cluster`'s shape for real: two hub processes on PostgreSQL and Redis behind Debian's HAProxy. Through the
 * balancer's one URL a control-room socket follows `event/{e}/gates` while staff change a gate's state ten times a
 * second; the hub holding the socket gets a SIGTERM. It must fail its health check at once (503 "draining") while
 * still serving, leave HAProxy's rotation, and only then close its sockets; the socket comes back through the
 * balancer on the other hub and resumes with `since`. Not one request through the balancer fails, and every change
 * arrives exactly once, in a gap-free sequence. The hub then starts again and HAProxy takes it back.
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import WebSocket from 'ws';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { HubCluster } from '@opshub/deploy/cluster/hub-cluster';
import { freePort } from '@opshub/deploy/local/free-port';
import { describeWithService, describeWithTool } from '../support/services.ts';

interface Delivered {
  seq: number;
  message: string | undefined;
  via: string;
}

/** A control-room socket through the balancer that reconnects on close and resumes the topic with `since`. */
class ResumingSubscriber {
  readonly delivered: Delivered[] = [];
  readonly servedBy: string[] = [];
  /** frames other than messages (errors, resets), for the failure message */
  readonly other: string[] = [];
  #socket: WebSocket | undefined;
  #lastSeq: number | undefined;
  #stopped = false;

  constructor(
    private readonly url: string,
    private readonly topic: string,
  ) {}

  readonly events: string[] = [];

  async connect(): Promise<void> {
    this.events.push(`connect ${Date.now() % 100000}`);
    const socket = new WebSocket(this.url);
    socket.on('error', (error) => this.events.push(`error ${error.message}`));
    let refused: ((error: Error) => void) | undefined;
    // An answer other than 101 (HAProxy's 503 while no hub is in rotation): ws leaves the request to us.
    socket.on('unexpected-response', (request, res) => {
      this.events.push(`unexpected ${res.statusCode}`);
      request.destroy();
      refused?.(new Error(`upgrade answered ${res.statusCode}`));
    });
    this.#socket = socket;
    let via = '?';
    socket.on('upgrade', (res) => {
      via = String(res.headers['x-opshub-hub'] ?? '?');
      this.servedBy.push(via);
    });
    socket.on('message', (raw) => {
      const frame = JSON.parse(raw.toString()) as { op: string; seq?: number; data?: { kind?: string; message?: string } };
      if (frame.op !== 'msg' || frame.seq === undefined) {
        this.other.push(raw.toString().slice(0, 200));
        return;
      }
      this.#lastSeq = frame.seq;
      this.delivered.push({ seq: frame.seq, message: frame.data?.kind === 'gate_state' ? frame.data.message : undefined, via });
    });
    socket.on('close', (code) => {
      this.events.push(`close ${code} ${Date.now() % 100000}`);
      this.#reconnectLater();
    });
    await new Promise<void>((resolve, reject) => {
      refused = reject;
      socket.once('open', resolve);
      socket.once('error', reject);
    });
    socket.send(JSON.stringify({ op: 'sub', topic: this.topic, ...(this.#lastSeq === undefined ? {} : { since: this.#lastSeq }) }));
  }

  #reconnectLater(): void {
    if (this.#stopped) return;
    setTimeout(() => {
      if (!this.#stopped) this.connect().catch(() => this.#reconnectLater());
    }, 100);
  }

  get via(): string {
    return this.servedBy.at(-1) ?? '?';
  }

  stop(): void {
    this.#stopped = true;
    this.#socket?.close();
  }
}

async function until(what: string, check: () => boolean | Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describeWithService('DATABASE_URL', 'hubs behind a load balancer', (databaseUrl) => {
  describeWithService('REDIS_URL', 'two hubs on one PostgreSQL and Redis', (redisUrl) => {
    describeWithTool('haproxy', 'behind HAProxy', () => {
      const schema = `opshub_lb_${randomUUID().replaceAll('-', '').slice(0, 12)}`;
      const event = `lb${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
      let dir: string;
      let admin: pg.Client;
      let cluster: HubCluster;
      let token: string;

      beforeAll(async () => {
        admin = new pg.Client({ connectionString: databaseUrl });
        await admin.connect();
        await admin.query(`create schema "${schema}"`);
        const url = new URL(databaseUrl);
        url.searchParams.set('options', `-c search_path=${schema}`);
        dir = await mkdtemp(join(tmpdir(), 'opshub-lb-'));
        cluster = await HubCluster.start({ hubs: 2, port: await freePort(), dir, databaseUrl: url.toString(), redisUrl, drainSeconds: 5, env: { LOG_LEVEL: 'warn' } });
        token = new URL(cluster.signIn!.replace(/^sign in[^:]*: /, '')).searchParams.get('token')!;
        const created = await fetch(`${cluster.url}/api/v1/events`, {
          method: 'POST',
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
          body: JSON.stringify({ id: event, name: 'Load balancer day', zones: [{ id: 'hall', name: 'Hall', capacity: 100 }], gates: [{ id: 'north', name: 'North', zone: 'hall' }] }),
        });
        expect(created.status).toBe(201);
      }, 400_000);

      afterAll(async () => {
        await cluster?.stop();
        await admin?.query(`drop schema if exists "${schema}" cascade`);
        await admin?.end();
        if (dir) await rm(dir, { recursive: true, force: true });
      }, 120_000);

      it('answers /healthz through the balancer on the shared backends, from either hub', async () => {
        const res = await fetch(`${cluster.url}/healthz`);
        expect(res.status).toBe(200);
        expect(await res.json()).toMatchObject({ ok: true, bus: 'redis', store: 'postgres' });
        expect(await cluster.serverStates()).toEqual({ 'hub-1': 'UP', 'hub-2': 'UP' });
      });

      it('drains a SIGTERMed hub: out of rotation first, no failed request, every change once, resumed with since', async () => {
        const subscriber = new ResumingSubscriber(`${cluster.url.replace('http', 'ws')}/ws?token=${token}`, `event/${event}/gates`);
        const published: string[] = [];
        const failures: string[] = [];
        const servedBy = new Set<string>();
        let publishing = true;
        const publish = async (i: number) => {
          const message = `change ${i}`;
          try {
            const res = await fetch(`${cluster.url}/api/v1/events/${event}/gates/north/state`, {
              method: 'PUT',
              headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
              body: JSON.stringify({ state: i % 2 === 0 ? 'hold' : 'open', message }),
            });
            if (res.ok) published.push(message);
            else failures.push(`${message}: ${res.status} ${await res.text()}`);
            servedBy.add(String(res.headers.get('x-opshub-hub')));
          } catch (error) {
            failures.push(`${message}: ${String(error)}`);
          }
        };
        /** What the balancer and the subscriber saw, for a failure's message. */
        const story = async () => {
          const checks = Object.values(await cluster.serverStats()).map((r) => `${r.svname} ${r.status} ${r.check_status} ${r.check_duration} ms`);
          return `published ${published.length}, failures ${JSON.stringify(failures.slice(0, 3))}, socket ${JSON.stringify(subscriber.events.slice(0, 12))}, checks ${JSON.stringify(checks)}\nhaproxy:\n${cluster.haproxyOutput().slice(-2000)}`;
        };
        const expectWithin = (what: string, check: () => boolean | Promise<boolean>, timeoutMs: number) =>
          until(what, check, timeoutMs).catch(async (error: Error) => {
            throw new Error(`${error.message}; ${await story()}`);
          });

        await subscriber.connect();
        const publisher = (async () => {
          for (let i = 0; publishing; i++) {
            await publish(i);
            await new Promise((r) => setTimeout(r, 100));
          }
        })();
        try {
          await expectWithin('the first changes to arrive', () => subscriber.delivered.filter((d) => d.message).length >= 5, 30_000);
          const victim = cluster.hubs.find((hub) => hub.name === subscriber.via);
          const survivor = cluster.hubs.find((hub) => hub !== victim);
          if (!victim || !survivor) throw new Error(`the socket's hub is unknown: ${subscriber.via}`);
          const stopped = cluster.stopHub(victim, 'SIGTERM');

          // Draining: the hub still answers, 503 and draining, so HAProxy takes it out before its sockets close.
          await expectWithin('the victim to report draining', async () => {
            const res = await fetch(`${victim.url}/healthz`).catch(() => undefined);
            if (res?.status !== 503) return false;
            expect(await res.json()).toMatchObject({ ok: false, draining: true });
            return true;
          }, 5_000);
          await expectWithin('HAProxy to mark the victim down', async () => (await cluster.serverStates())[victim.name] === 'DOWN', 15_000);
          // The socket closes when the drain ends and comes back through the balancer, on the survivor.
          await expectWithin('the socket to come back on the other hub', () => subscriber.via === survivor.name, 30_000);
          await stopped;
          const before = published.length;
          await expectWithin('more changes after the move', () => published.length >= before + 10, 30_000);
          publishing = false;
          await publisher;
          await expectWithin('every change to reach the socket', () => subscriber.delivered.filter((d) => d.message).length >= published.length, 15_000);

          expect(failures).toEqual([]);
          const received = subscriber.delivered.flatMap((d) => (d.message ? [d.message] : []));
          expect(received).toEqual(published); // each once, in order
          const seqs = subscriber.delivered.map((d) => d.seq);
          expect(seqs).toEqual(Array.from({ length: seqs.length }, (_, i) => seqs[0]! + i)); // gap-free, no repeats
          expect(new Set(subscriber.delivered.map((d) => d.via))).toEqual(new Set([victim.name, survivor.name]));
          expect(servedBy.has(survivor.name)).toBe(true);

          // Back again: HAProxy's health check puts the restarted hub into rotation.
          await cluster.startHub(victim);
          await expectWithin('HAProxy to take the restarted hub back', async () => (await cluster.serverStates())[victim.name] === 'UP', 15_000);
        } finally {
          publishing = false;
          subscriber.stop();
          await publisher;
        }
      }, 300_000);
    });
  });
});
