import { afterAll, beforeAll, expect, it } from 'vitest';
import { Heatmap } from '@opshub/schema';
import { startTestHub, type TestHub } from '../support/test-hub.ts';
import { TestClient } from '../support/ws-client.ts';

/**
 * Issue #11, item 8, with a real hub, chDB and the analytics outbox: two booths share a zone; each exhibitor's zone
 * heatmap counts its own badge scans (and entries into the zone), never the other booth's. And JSON endpoints refuse
 * a body sent as XML or as a form with 415, as docs/api.md promises, writing nothing.
 */
let t: TestHub;
const admin = { role: 'admin' as const, sub: 'root', events: ['*'] };

beforeAll(async () => {
  t = await startTestHub();
  const post = async (path: string, body: unknown) => {
    const res = await t.api(path, { method: 'POST', claims: admin, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    if (res.status >= 300) throw new Error(`${path}: ${res.status} ${await res.text()}`);
  };
  await post('/api/v1/events', { id: 'fair', name: 'Fair', zones: [{ id: 'hall', name: 'Hall', capacity: 100 }] });
  await post('/api/v1/events/fair/tickets', ['V1', 'V2', 'V3', 'V4', 'V5'].map((code) => ({ code })));
  await post('/api/v1/events/fair/exhibitors', [
    { id: 'acme', name: 'Acme', zone: 'hall' },
    { id: 'globex', name: 'Globex', zone: 'hall' },
  ]);
}, 60_000);
afterAll(() => t?.close());

it('counts only the asking exhibitor\'s own badge scans in its zone heatmap, when booths share the zone', async () => {
  const socket = await TestClient.connect(t.wsUrl, await t.token(admin));
  // Globex scans four badges, Acme one.
  for (const code of ['V1', 'V2', 'V3', 'V4']) expect((await socket.command('lead.capture', { event: 'fair', exhibitor: 'globex', code })).op).toBe('ok');
  expect((await socket.command('lead.capture', { event: 'fair', exhibitor: 'acme', code: 'V5' })).op).toBe('ok');
  await socket.close();
  await t.hub.analyticsRelay.drain();

  const range = `from=${Math.floor(Date.now() / 60_000) * 60_000 - 600_000}&to=${Math.ceil(Date.now() / 60_000) * 60_000 + 120_000}`;
  const visits = async (exhibitor: string) => {
    const res = await t.api(`/api/v1/events/fair/analytics/heatmap?dim=zone&bucket=1m&${range}`, { claims: { role: 'exhibitor', exhibitor, events: ['fair'] } });
    expect(res.status).toBe(200);
    const heatmap = Heatmap.parse(await res.json());
    expect(heatmap.rows.map((r) => r.id)).toEqual(['hall']);
    return (heatmap.visits ?? []).flat().reduce((a, b) => a + b, 0);
  };
  expect(await visits('acme')).toBe(1);
  expect(await visits('globex')).toBe(4);
  // The control room still sees every booth's scans in the zone.
  const all = Heatmap.parse(await (await t.api(`/api/v1/events/fair/analytics/heatmap?dim=zone&bucket=1m&${range}`, { claims: admin })).json());
  expect((all.visits ?? []).flat().reduce((a, b) => a + b, 0)).toBe(5);
}, 60_000);

it('answers 415 to a JSON endpoint given XML or a form, and writes nothing', async () => {
  const attempts: [string, string][] = [
    ['application/xml', '<event><id>xml</id><name>XML</name></event>'],
    ['text/xml', '<event/>'],
    ['application/x-www-form-urlencoded', 'id=form&name=Form'],
    ['multipart/form-data; boundary=x', '--x\r\nContent-Disposition: form-data; name="id"\r\n\r\nform\r\n--x--\r\n'],
  ];
  for (const [type, body] of attempts) {
    const res = await t.api('/api/v1/events', { method: 'POST', claims: admin, headers: { 'content-type': type }, body });
    expect(res.status, type).toBe(415);
    expect(await res.json()).toMatchObject({ error: 'invalid' });
  }
  // Even a body that is JSON, labelled as a form.
  const labelled = await t.api('/api/v1/events', { method: 'POST', claims: admin, headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: JSON.stringify({ id: 'sneaky', name: 'Sneaky' }) });
  expect(labelled.status).toBe(415);
  expect((await t.api('/api/v1/events/sneaky', { claims: admin })).status).toBe(404);
  // JSON, with or without a charset, and fetch's default for a string body, are read.
  expect((await t.api('/api/v1/events', { method: 'POST', claims: admin, headers: { 'content-type': 'application/json; charset=utf-8' }, body: JSON.stringify({ id: 'ok1', name: 'OK' }) })).status).toBe(201);
  expect((await t.api('/api/v1/events', { method: 'POST', claims: admin, body: JSON.stringify({ id: 'ok2', name: 'OK' }) })).status).toBe(201);
});
