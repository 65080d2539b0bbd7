/**
 * `gate_stalled` (issue 12, item 4): an online gate whose pending scans do not drain. Real hub process on PostgreSQL,
 * real edge agent. The stall is real and deterministic: the test locks the hub's Yjs update log (`yjs_updates`) in
 * a transaction of its own, so the hub keeps the gate's socket, its presence and its scans in memory but cannot store
 * them, and so never confirms them; the agent's `pending` stays up while it is online. Releasing the lock lets the
 * stored-state confirmation through, the count drains and the alert is resolved.
 */
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { AlertMessage, GateMessage } from '@opshub/schema';
import { describeWithService } from '../support/services.ts';
import { minter } from '../support/test-hub.ts';
import { TestClient, type Frame } from '../support/ws-client.ts';
import { EdgeFleet, until } from './edge-fleet.ts';

describeWithService('DATABASE_URL', 'gate_stalled', (databaseUrl) => {
  const schema = `opshub_stall_${randomUUID().replaceAll('-', '').slice(0, 12)}`;
  let fleet: EdgeFleet;
  let control: TestClient;
  let admin: pg.Client;
  let locker: pg.Client | undefined;

  const isStalled = (f: Frame) => f.op === 'msg' && f.topic === 'event/stall/alerts' && (f.data as { kind?: string }).kind === 'gate_stalled';

  beforeAll(async () => {
    admin = new pg.Client({ connectionString: databaseUrl });
    await admin.connect();
    await admin.query(`create schema "${schema}"`);
    const url = new URL(databaseUrl);
    url.searchParams.set('options', `-c search_path=${schema}`);
    fleet = await EdgeFleet.create('stall');
    await fleet.startHub({ DATABASE_URL: url.toString(), GATE_STALLED_AFTER: '2' });
    const body = { id: 'stall', name: 'Stall', zones: [{ id: 'hall', name: 'Hall', capacity: 100 }], gates: [{ id: 'north', name: 'North', zone: 'hall' }] };
    expect((await fleet.api('/api/v1/events', { method: 'POST', body: JSON.stringify(body) })).status).toBe(201);
    const tickets = Array.from({ length: 10 }, (_, i) => ({ code: `S${i}` }));
    expect((await fleet.api('/api/v1/events/stall/tickets', { method: 'POST', body: JSON.stringify(tickets) })).status).toBe(200);
    control = await TestClient.connect(`ws://127.0.0.1:${fleet.hubPort}/ws`, await minter.mint({ sub: 'ops', role: 'staff', events: ['stall'] }));
    await control.subscribe('event/stall/alerts');
    await control.subscribe('event/stall/gates');
    await fleet.startAgent('north-1', 'north');
    await until(() => fleet.status('north-1'), (s) => s.online && s.tickets === 10, 'agent online with the roster', 30_000);
  }, 180_000);

  afterAll(async () => {
    await locker?.query('rollback').catch(() => {});
    await locker?.end().catch(() => {});
    await control?.close();
    await fleet?.close();
    await admin?.query(`drop schema if exists "${schema}" cascade`);
    await admin?.end();
  });

  it('a scan the hub stored drains at once: pending means "not stored by the hub"', async () => {
    expect((await fleet.scan('north-1', 'S0')).verdict).toBe('admitted');
    await until(() => fleet.status('north-1'), (s) => s.online && s.pending === 0 && s.scans === 1, 'scan confirmed by the hub');
  });

  it('raises one gate_stalled while the hub cannot store, resolved when the scans drain', async () => {
    locker = new pg.Client({ connectionString: databaseUrl });
    await locker.connect();
    await locker.query('begin');
    await locker.query(`lock table "${schema}".yjs_updates in exclusive mode`);

    for (const code of ['S1', 'S2', 'S3']) expect((await fleet.scan('north-1', code)).verdict).toBe('admitted');
    // The agent stays online (its socket and presence reach the hub), its scans are not confirmed.
    const stuck = await until(() => fleet.status('north-1'), (s) => s.online && s.pending === 3, 'three scans pending while online');
    expect(stuck).toMatchObject({ online: true, pending: 3 });
    await control.next((f) => f.op === 'msg' && f.topic === 'event/stall/gates' && GateMessage.safeParse(f.data).success && (f.data as GateMessage).online && (f.data as GateMessage).pending === 3, 15_000);

    const raised = AlertMessage.parse((await control.next(isStalled, 30_000)).data);
    // Raised once the count had not gone down for GATE_STALLED_AFTER (2 s here), not at the first pending scan.
    expect(raised.at - Number(raised.detail.since)).toBeGreaterThanOrEqual(1900);
    expect(raised).toMatchObject({ kind: 'gate_stalled', severity: 'warning', detail: { gate: 'north', device: 'north-1', pending: 3 } });
    expect(raised.resolved).toBeUndefined();
    // A busier gate in the same stall is the same stall: one more scan raises nothing new.
    expect((await fleet.scan('north-1', 'S4')).verdict).toBe('admitted');
    await until(() => fleet.status('north-1'), (s) => s.pending === 4, 'fourth scan pending');
    await control.next((f) => f.op === 'msg' && f.topic === 'event/stall/gates' && (f.data as GateMessage).pending === 4, 15_000);
    const open = (await (await fleet.api('/api/v1/events/stall/alerts')).json()) as AlertMessage[];
    expect(open.filter((a) => a.kind === 'gate_stalled').map((a) => a.id)).toEqual([raised.id]);

    await locker.query('rollback');
    const resolvedFrame = await control.next((f) => isStalled(f) && (f.data as { resolved?: unknown }).resolved !== undefined, 30_000);
    expect(AlertMessage.parse(resolvedFrame.data)).toMatchObject({ id: raised.id, resolved: { at: expect.any(Number) } });
    await until(() => fleet.status('north-1'), (s) => s.online && s.pending === 0 && s.scans === 5, 'every scan confirmed');
    expect(control.messages('event/stall/alerts').filter(isStalled)).toHaveLength(2);
    const after = (await (await fleet.api('/api/v1/events/stall/alerts')).json()) as AlertMessage[];
    expect(after.filter((a) => a.kind === 'gate_stalled')).toEqual([]);
  }, 120_000);
});
