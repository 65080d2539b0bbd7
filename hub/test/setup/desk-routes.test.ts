/**
 * The desk's REST side (issue 13): ticket search and a ticket's page with its scans across gates, un-revoking, the
 * audit log with filters and its formula-safe CSV, and gate pairing (a minted device token a real gate socket
 * accepts, listed, unpaired onto the revocation list, which closes its socket). Real hub, real gate sockets, embedded Store.
 */
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GateClient } from '../gates/gate-client.ts';
import { expoEvent, startTestHub, type TestHub } from '../support/test-hub.ts';

let t: TestHub;
const open: GateClient[] = [];
const staff = { role: 'staff' as const, sub: 'desk-ana', events: ['expo'] };
const json = (body: unknown) => ({ body: JSON.stringify(body), headers: { 'content-type': 'application/json' } });
const get = async <T>(path: string, claims: Parameters<TestHub['token']>[0] = staff): Promise<T> => {
  const res = await t.api(path, { claims });
  expect(res.status, await res.clone().text()).toBe(200);
  return (await res.json()) as T;
};

beforeAll(async () => {
  t = await startTestHub();
  expect((await t.api('/api/v1/events', { method: 'POST', claims: { role: 'admin', events: ['*'] }, ...json(expoEvent) })).status).toBe(201);
  const roster = [
    { code: 'A-100', holder: 'Ada Lovelace', email: 'ada@example.org', type: 'vip', zones: [] },
    { code: 'A-101', holder: 'Grace Hopper', email: 'grace@example.org', type: 'general', zones: ['hall'] },
    { code: 'B-200', holder: '=HYPERLINK("http://x")', email: 'mallory@example.org', type: 'general', zones: [] },
    { code: 'C_1%', holder: 'Under Score', email: 'u@example.org', type: 'general', zones: [] },
  ];
  expect((await t.api('/api/v1/events/expo/tickets', { method: 'POST', claims: staff, ...json(roster) })).status).toBe(200);
});
afterAll(async () => {
  for (const client of open) client.close();
  await t?.close();
});

describe('ticket search and page', () => {
  it('finds by code prefix, by part of a name or email (case-insensitive), with LIKE wildcards taken literally', async () => {
    type List = { tickets: { code: string }[]; more: boolean };
    expect((await get<List>('/api/v1/events/expo/tickets?q=A-1')).tickets.map((x) => x.code)).toEqual(['A-100', 'A-101']);
    expect((await get<List>('/api/v1/events/expo/tickets?q=hopper')).tickets.map((x) => x.code)).toEqual(['A-101']);
    expect((await get<List>('/api/v1/events/expo/tickets?q=GRACE@EX')).tickets.map((x) => x.code)).toEqual(['A-101']);
    expect((await get<List>('/api/v1/events/expo/tickets?q=C_1%25')).tickets.map((x) => x.code)).toEqual(['C_1%']);
    expect((await get<List>('/api/v1/events/expo/tickets?q=%25')).tickets).toEqual([]);
    expect((await get<List>('/api/v1/events/expo/tickets?q=A_1')).tickets).toEqual([]);
    expect((await get<List>('/api/v1/events/expo/tickets?q=A-100')).tickets[0]?.code).toBe('A-100');
    const page = await get<List>('/api/v1/events/expo/tickets?limit=2');
    expect(page).toMatchObject({ more: true });
    expect(page.tickets).toHaveLength(2);
    expect((await t.api('/api/v1/events/expo/tickets?limit=0', { claims: staff })).status).toBe(400);
    expect((await t.api('/api/v1/events/expo/tickets', { claims: { role: 'gate', gate: 'north' } })).status).toBe(403);
  });

  it('shows a ticket with its scans across gates, newest first, whether inside, and a signed code to print', async () => {
    const north = await GateClient.connect(t.port, 'expo', await t.token({ role: 'gate', gate: 'north', events: ['expo'] }));
    const vip = await GateClient.connect(t.port, 'expo', await t.token({ role: 'gate', gate: 'vipdoor', events: ['expo'] }));
    open.push(north, vip);
    const at = Date.now() - 60_000;
    north.scan({ code: 'A-100', gate: 'north', at });
    vip.scan({ code: 'A-100', gate: 'vipdoor', at: at + 1000 });
    type Detail = { status: string; inside: boolean; token: string; scans: { gate: string; dir: string; verdict: string }[] };
    await expect.poll(async () => (await get<Detail>('/api/v1/events/expo/tickets/A-100')).scans.length, { timeout: 10_000 }).toBe(2);
    const detail = await get<Detail>('/api/v1/events/expo/tickets/A-100');
    expect(detail).toMatchObject({ status: 'valid', inside: true });
    expect(detail.scans.map((s) => s.gate)).toEqual(['vipdoor', 'north']);
    expect(decodeJwt(detail.token)).toMatchObject({ code: 'A-100' });
    expect((await t.api('/api/v1/events/expo/tickets/NOPE', { claims: staff })).status).toBe(404);
  });
});

describe('revoke and un-revoke', () => {
  it('reaches a connected gate both ways and is audited; the audit filters by actor, action, object and time', async () => {
    const gate = open[0] ?? (await GateClient.connect(t.port, 'expo', await t.token({ role: 'gate', gate: 'north', events: ['expo'] })));
    const statusAtGate = () => (gate.tickets().get('A-101') as { status?: string } | undefined)?.status;
    const before = Date.now();
    expect((await t.api('/api/v1/events/expo/tickets/A-101/revoke', { method: 'POST', claims: staff })).status).toBe(200);
    await gate.until(() => statusAtGate() === 'revoked');
    const res = await t.api('/api/v1/events/expo/tickets/A-101/unrevoke', { method: 'POST', claims: { ...staff, sub: 'desk-bo' } });
    expect(await res.json()).toEqual({ code: 'A-101', status: 'valid' });
    await gate.until(() => statusAtGate() === 'valid');

    type Page = { entries: { actor: string; action: string; target: string; at: number }[]; next: number | null };
    const ticketActions = await get<Page>('/api/v1/events/expo/audit?action=ticket.&target=A-101');
    expect(ticketActions.entries.map((e) => `${e.actor} ${e.action}`)).toEqual(['desk-bo ticket.unrevoke', 'desk-ana ticket.revoke']);
    expect((await get<Page>('/api/v1/events/expo/audit?actor=desk-bo')).entries.map((e) => e.action)).toEqual(['ticket.unrevoke']);
    expect((await get<Page>(`/api/v1/events/expo/audit?action=ticket.revoke&from=${before}`)).entries).toHaveLength(1);
    expect((await get<Page>(`/api/v1/events/expo/audit?to=${before}`)).entries.map((e) => e.action)).toEqual(['tickets.import', 'event.create']);
    const first = await get<Page>('/api/v1/events/expo/audit?limit=1');
    expect(first.next).toBe(first.entries.length === 1 ? (first.entries[0] as unknown as { id: number }).id : null);
    expect((await t.api('/api/v1/events/expo/audit?from=yesterday', { claims: staff })).status).toBe(400);
  });

  it('exports the audit as formula-safe CSV', async () => {
    await t.api('/api/v1/events/expo/tickets/B-200/revoke', { method: 'POST', claims: { ...staff, sub: '=cmd|calc' } });
    const res = await t.api('/api/v1/events/expo/audit.csv?target=B-200', { claims: staff });
    expect(res.headers.get('content-type')).toBe('text/csv; charset=utf-8');
    expect(res.headers.get('content-disposition')).toContain('audit-expo.csv');
    const text = await res.text();
    const [header, row] = text.replace(/^\uFEFF/, '').split('\r\n');
    expect(header).toBe('id,at,actor,role,action,target,before,after');
    expect(row).toContain(",'=cmd|calc,staff,ticket.revoke,B-200,");
  });
});

describe('gate pairing', () => {
  it('mints an expiring device token a gate socket accepts, lists the device, and unpairs it onto the revocation list', async () => {
    const res = await t.api('/api/v1/events/expo/gates/vipdoor/pairings', { method: 'POST', claims: staff, ...json({ label: 'VIP laptop', ttlHours: 8 }) });
    expect(res.status).toBe(201);
    const pairing = (await res.json()) as { device: { id: string; gate: string; expiresAt: number }; token: string; args: string[] };
    const claims = decodeJwt(pairing.token);
    expect(claims).toMatchObject({ role: 'gate', gate: 'vipdoor', events: ['expo'], sub: `device:${pairing.device.id}` });
    expect(claims.exp! * 1000 - Date.now()).toBeGreaterThan(7.9 * 3_600_000);
    expect(claims.exp! * 1000 - Date.now()).toBeLessThan(8.1 * 3_600_000);
    expect(pairing.args).toEqual(['--event', 'expo', '--gate', 'vipdoor', '--device', pairing.device.id]);
    const laptop = await GateClient.connect(t.port, 'expo', pairing.token);
    open.push(laptop);

    const listed = await get<{ devices: { id: string; label: string; revokedAt: number | null }[] }>('/api/v1/events/expo/pairings');
    expect(listed.devices).toEqual([expect.objectContaining({ id: pairing.device.id, label: 'VIP laptop', revokedAt: null })]);
    const closed = laptop.nextClose();
    const unpaired = await t.api(`/api/v1/events/expo/pairings/${pairing.device.id}`, { method: 'DELETE', claims: staff });
    expect(unpaired.status).toBe(200);
    // Its socket is closed at once, and the token no longer opens anything.
    expect(await closed).toBe(4401);
    expect((await fetch(`${t.httpUrl}/api/v1/events/expo/capacity`, { headers: { authorization: `Bearer ${pairing.token}` } })).status).toBe(401);
    expect(((await unpaired.json()) as { revokedAt: number | null }).revokedAt).toBeGreaterThan(0);
    const revoked = await t.backends.store.db.selectFrom('token_revocations').selectAll().where('value', '=', `device:${pairing.device.id}`).execute();
    expect(revoked).toEqual([expect.objectContaining({ kind: 'sub', revoked_by: 'desk-ana' })]);
    const audit = await get<{ entries: { action: string }[] }>(`/api/v1/events/expo/audit?target=${pairing.device.id}`);
    expect(audit.entries.map((e) => e.action)).toEqual(['gate.unpair', 'gate.pair']);

    expect((await t.api('/api/v1/events/expo/gates/nowhere/pairings', { method: 'POST', claims: staff, ...json({}) })).status).toBe(404);
    expect((await t.api('/api/v1/events/expo/gates/north/pairings', { method: 'POST', claims: staff, ...json({ ttlHours: 0 }) })).status).toBe(400);
    expect((await t.api('/api/v1/events/expo/pairings/d-missing', { method: 'DELETE', claims: staff })).status).toBe(404);
    expect((await t.api('/api/v1/events/expo/gates/north/pairings', { method: 'POST', claims: { role: 'gate', gate: 'north' }, ...json({}) })).status).toBe(403);
  });
});
