import { expect } from 'vitest';
import type { Claims } from '@opshub/schema';
import { startTestHub, type TestHub } from '../support/test-hub.ts';
import { TestClient, type Frame } from '../support/ws-client.ts';

type Who = Partial<Claims> & Pick<Claims, 'role'>;

/**
 * A real hub with an expo: a hall and three booths; sponsor `big` has booths x1 and x2 and sponsors the keynote,
 * sponsor `small` has booth x3 and sponsors panel-1. Tickets A1–A5, with consents: A1 shares everything, A2 its name
 * only, the others nothing.
 */
export interface LeadsHub {
  readonly t: TestHub;
  readonly event: 'expo';
  /** a REST call as `who` (JSON body when given) */
  call<T = unknown>(method: string, path: string, who: Who, body?: unknown): Promise<{ status: number; body: T }>;
  /** a connected socket as `who`, closed by `close()` */
  client(who: Who): Promise<TestClient>;
  close(): Promise<void>;
}

export const admin: Who = { role: 'admin', sub: 'root', events: ['*'] };
export const staff: Who = { role: 'staff', sub: 'ana', events: ['expo'] };
export const boothStaff = (exhibitor: string, sub = `staff-${exhibitor}`): Who => ({ role: 'exhibitor', sub, events: ['expo'], exhibitor });
export const sponsorOf = (sponsor: string): Who => ({ role: 'sponsor', sub: `rep-${sponsor}`, events: ['expo'], sponsor });

export const roster = [
  { code: 'A1', holder: 'Ada Lovelace', email: 'ada@example.org', type: 'vip' },
  { code: 'A2', holder: 'Grace Hopper', email: 'grace@example.org', type: 'general' },
  { code: 'A3', holder: 'Alan Turing', email: 'alan@example.org', type: 'general' },
  { code: 'A4', holder: 'Edsger Dijkstra', email: 'ewd@example.org', type: 'press' },
  { code: 'A5', holder: 'Barbara Liskov', email: 'barbara@example.org', type: 'general' },
];

export async function startLeadsHub(): Promise<LeadsHub> {
  const t = await startTestHub();
  const clients: TestClient[] = [];
  const call: LeadsHub['call'] = async <T>(method: string, path: string, who: Who, body?: unknown) => {
    const res = await t.api(path, { method, claims: who, ...(body !== undefined && { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }) });
    const text = await res.text();
    return { status: res.status, body: (text && res.headers.get('content-type')?.includes('json') ? JSON.parse(text) : text) as T };
  };
  const setup = async (path: string, body: unknown, status = 200) => expect((await call('POST', path, admin, body)).status).toBe(status);
  await setup(
    '/api/v1/events',
    {
      id: 'expo',
      name: 'Expo',
      zones: [
        { id: 'hall', name: 'Main hall', capacity: 1000 },
        { id: 'booth-1', name: 'Booth 1', capacity: 50 },
        { id: 'booth-2', name: 'Booth 2', capacity: 50 },
        { id: 'booth-3', name: 'Booth 3', capacity: 50 },
      ],
      gates: [{ id: 'north', name: 'North', zone: 'hall' }],
    },
    201,
  );
  await setup('/api/v1/events/expo/tickets', roster);
  await setup('/api/v1/events/expo/sponsors', [
    { id: 'big', name: 'Big Corp', sessions: ['keynote'] },
    { id: 'small', name: 'Small Ltd', sessions: ['panel-1'] },
  ]);
  await setup('/api/v1/events/expo/exhibitors', [
    { id: 'x1', name: 'Big Corp North', zone: 'booth-1', sponsor: 'big' },
    { id: 'x2', name: 'Big Corp South', zone: 'booth-2', sponsor: 'big' },
    { id: 'x3', name: 'Small Ltd', zone: 'booth-3', sponsor: 'small' },
  ]);
  await setup('/api/v1/events/expo/consents', [
    { code: 'A1', fields: ['name', 'email', 'type'] },
    { code: 'A2', fields: ['name'] },
  ]);
  return {
    t,
    event: 'expo',
    call,
    async client(who) {
      const client = await TestClient.connect(t.wsUrl, await t.token(who));
      clients.push(client);
      return client;
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
