import { expect } from 'vitest';
import type { Role } from '@opshub/schema';
import { listAudit, type AuditEntry } from '../../src/store/repos/audit-log.ts';
import { startTestHub, type TestHub } from '../support/test-hub.ts';
import { TestClient, type Frame } from '../support/ws-client.ts';

/** A real in-process hub with one event, and sockets for any role on it. */
export interface EngagementHub {
  readonly t: TestHub;
  readonly event: string;
  /** a connected socket for `role` (sub defaults to `role-N`), closed by `close()` */
  client(role: Role, options?: { sub?: string; events?: string[] }): Promise<TestClient>;
  /** GET a REST path as `role` */
  get<T = unknown>(path: string, role: Role, sub?: string): Promise<{ status: number; body: T }>;
  /** the event's audit rows, oldest first */
  audit(): Promise<AuditEntry[]>;
  /** analytics rows of `kind` for the event, after a flush */
  analyticsCount(kind: string): Promise<number>;
  close(): Promise<void>;
}

export async function startEngagementHub(events: string[] = ['expo']): Promise<EngagementHub> {
  const t = await startTestHub();
  for (const id of events) {
    const res = await t.api('/api/v1/events', { method: 'POST', claims: { role: 'admin', events: ['*'] }, body: JSON.stringify({ id, name: `Event ${id}` }) });
    expect(res.status).toBe(201);
  }
  const event = events[0]!;
  const clients: TestClient[] = [];
  let n = 0;
  return {
    t,
    event,
    async client(role, options = {}) {
      const token = await t.token({ role, sub: options.sub ?? `${role}-${++n}`, events: options.events ?? [event] });
      const client = await TestClient.connect(t.wsUrl, token);
      clients.push(client);
      return client;
    },
    async get<T>(path: string, role: Role, sub?: string) {
      const res = await t.api(path, { claims: { role, sub: sub ?? `${role}-reader`, events: [event] } });
      return { status: res.status, body: (await res.json()) as T };
    },
    async audit() {
      return (await listAudit(t.backends.store.db, { event, limit: 10_000 })).reverse();
    },
    async analyticsCount(kind) {
      await t.hub.analyticsRelay.drain();
      const rows = await t.backends.analytics.query<{ n: string }>('SELECT count() AS n FROM events WHERE kind = {kind:String} AND event = {event:String}', { kind, event });
      return Number(rows[0]?.n ?? 0);
    },
    async close() {
      await Promise.all(clients.map((c) => c.close()));
      await t.close();
    },
  };
}

/** The `result` of an `ok` answer; fails the test with the error otherwise. */
export function ok<T = Record<string, unknown>>(frame: Frame): T {
  if (frame.op !== 'ok') throw new Error(`expected ok, got ${JSON.stringify(frame)}`);
  return frame.result as T;
}

/** Data of the messages received on `topic` so far. */
export function dataOn<T = Record<string, unknown>>(client: TestClient, topic: string): T[] {
  return client.messages(topic).map((m) => m.data as T);
}

/**
 * Polls an observable condition until it holds, bounded in time (for what has no event to await, such as the end
 * of a mute, which is a moment on the database clock).
 */
export async function until<T>(probe: () => Promise<T | undefined | false>, timeoutMs = 10_000, everyMs = 50): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/**
 * Sends a marker command whose effect is published on `topic` after everything the test did before, and waits for
 * it: a way to assert that something was *not* delivered without sleeping.
 */
export async function flushTopic(client: TestClient, marker: () => Promise<unknown>, isMarker: (f: Frame) => boolean): Promise<void> {
  await marker();
  await client.next((f) => f.op === 'msg' && isMarker(f));
}
