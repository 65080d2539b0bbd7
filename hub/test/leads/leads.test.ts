import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Lead, LeadMessage, type LeadPage, type Sponsor } from '@opshub/schema';
import { admin, boothStaff, ok, sponsorOf, staff, startLeadsHub, type LeadsHub } from './fixture.ts';

let h: LeadsHub;
beforeAll(async () => {
  h = await startLeadsHub();
});
afterAll(() => h?.close());

const leadsTopic = (exhibitor: string) => `event/expo/leads/${exhibitor}`;

describe('the model', () => {
  it('lists exhibitors and sponsors by role: all for admins and staff, a sponsor its own, a booth itself', async () => {
    const ids = async (path: string, who: Parameters<LeadsHub['call']>[2], key: 'exhibitors' | 'sponsors') => {
      const res = await h.call<Record<string, { id: string }[]>>('GET', path, who);
      return res.status === 200 ? res.body[key]!.map((x) => x.id) : res.status;
    };
    expect(await ids('/api/v1/events/expo/exhibitors', staff, 'exhibitors')).toEqual(['x1', 'x2', 'x3']);
    expect(await ids('/api/v1/events/expo/exhibitors', sponsorOf('big'), 'exhibitors')).toEqual(['x1', 'x2']);
    expect(await ids('/api/v1/events/expo/exhibitors', boothStaff('x3'), 'exhibitors')).toEqual(['x3']);
    expect(await ids('/api/v1/events/expo/exhibitors', { role: 'attendee', events: ['expo'] }, 'exhibitors')).toBe(403);
    expect(await ids('/api/v1/events/expo/sponsors', admin, 'sponsors')).toEqual(['big', 'small']);
    expect(await ids('/api/v1/events/expo/sponsors', sponsorOf('small'), 'sponsors')).toEqual(['small']);

    const big = await h.call<Sponsor>('GET', '/api/v1/events/expo/sponsors/big', sponsorOf('big'));
    expect(big.body).toMatchObject({ id: 'big', name: 'Big Corp', sessions: ['keynote'], exhibitors: [{ id: 'x1', zone: 'booth-1' }, { id: 'x2', zone: 'booth-2' }] });
    const asBooth = await h.call<Sponsor>('GET', '/api/v1/events/expo/sponsors/big', boothStaff('x2'));
    expect(asBooth.body).toMatchObject({ id: 'big', sessions: [], exhibitors: [{ id: 'x2' }] });
  });

  it('takes writes from admins and staff only, and checks zones, sponsors and ticket codes', async () => {
    expect((await h.call('POST', '/api/v1/events/expo/exhibitors', sponsorOf('big'), { id: 'x9', name: 'Mine', zone: 'booth-1' })).status).toBe(403);
    expect((await h.call('POST', '/api/v1/events/expo/sponsors', boothStaff('x1'), { id: 's9', name: 'Mine' })).status).toBe(403);
    const badZone = await h.call<{ error: string; message: string }>('POST', '/api/v1/events/expo/exhibitors', staff, { id: 'x9', name: 'Nowhere', zone: 'moon' });
    expect(badZone).toMatchObject({ status: 404, body: { error: 'not_found' } });
    expect(badZone.body.message).toContain('moon');
    expect((await h.call('POST', '/api/v1/events/expo/exhibitors', staff, { id: 'x9', name: 'Orphan', zone: 'hall', sponsor: 'ghost' })).status).toBe(404);
    expect((await h.call('POST', '/api/v1/events/expo/exhibitors', staff, { id: 'x9', name: 'No zone' })).status).toBe(400);

    const consents = await h.call('POST', '/api/v1/events/expo/consents', staff, [{ code: 'A5', fields: ['email'] }, { code: 'NOPE', fields: ['name'] }, { code: 'A5', fields: [] }, { code: 'A4', fields: ['phone'] }]);
    expect(consents.body).toMatchObject({ accepted: 1, rejected: [{ row: 2 }, { row: 3 }, { row: 4 }] });
    const listed = await h.call<{ consents: { code: string; fields: string[] }[] }>('GET', '/api/v1/events/expo/consents', admin);
    expect(listed.body.consents.map((c) => [c.code, c.fields])).toEqual([
      ['A1', ['email', 'name', 'type']],
      ['A2', ['name']],
      ['A5', ['email']],
    ]);
    expect((await h.call('GET', '/api/v1/events/expo/consents', sponsorOf('big'))).status).toBe(403);
    // back to "nothing shared" for the tests below
    await h.call('POST', '/api/v1/events/expo/consents', staff, { code: 'A5', fields: [] });
  });
});

describe('lead.capture and lead.update', () => {
  it('creates a lead on the first scan and counts a visit on a rescan, sharing only consented fields', async () => {
    const booth = await h.client(boothStaff('x1', 'kim'));
    const first = ok<{ lead: Lead; created: boolean }>(await booth.command('lead.capture', { event: 'expo', exhibitor: 'x1', code: 'A1', rating: 4, notes: 'wants a demo', tags: ['hot', 'HOT', ' api '] }));
    expect(first.created).toBe(true);
    expect(Lead.parse(first.lead)).toMatchObject({
      exhibitor: 'x1',
      attendee: { name: 'Ada Lovelace', email: 'ada@example.org', type: 'vip' },
      shared: ['name', 'email', 'type'],
      rating: 4,
      notes: 'wants a demo',
      tags: ['hot', 'api'],
      visits: 1,
      capturedBy: 'kim',
    });
    expect(JSON.stringify(first.lead)).not.toContain('"A1"');

    const again = ok<{ lead: Lead; created: boolean }>(await booth.command('lead.capture', { event: 'expo', exhibitor: 'x1', code: 'A1', rating: 5 }));
    expect(again).toMatchObject({ created: false, lead: { id: first.lead.id, visits: 2, rating: 5, notes: 'wants a demo', tags: ['hot', 'api'] } });
    expect(again.lead.lastAt).toBeGreaterThanOrEqual(first.lead.lastAt);

    const grace = ok<{ lead: Lead }>(await booth.command('lead.capture', { event: 'expo', exhibitor: 'x1', code: 'A2' }));
    expect(grace.lead).toMatchObject({ attendee: { name: 'Grace Hopper' }, shared: ['name'], rating: null, notes: '', tags: [] });
    const alan = ok<{ lead: Lead }>(await booth.command('lead.capture', { event: 'expo', exhibitor: 'x1', code: 'A3' }));
    expect(alan.lead).toMatchObject({ attendee: {}, shared: [] });
  });

  it('a retried scan (same scanId) changes nothing; another booth scanning the same badge makes its own lead', async () => {
    const booth = await h.client(boothStaff('x2'));
    const args = { event: 'expo', exhibitor: 'x2', code: 'A1', scanId: 'scan-77', rating: 3 };
    const first = ok<{ lead: Lead; created: boolean; seq: number }>(await booth.command('lead.capture', args));
    const retry = ok<{ lead: Lead; created: boolean; seq: number }>(await booth.command('lead.capture', args));
    expect(first).toMatchObject({ created: true, lead: { visits: 1 } });
    expect(retry).toMatchObject({ created: false, seq: first.seq, lead: { id: first.lead.id, visits: 1 } });
    const next = ok<{ lead: Lead }>(await booth.command('lead.capture', { ...args, scanId: 'scan-78' }));
    expect(next.lead.visits).toBe(2);
  });

  it('refuses unknown badges, other booths, and roles that do not scan', async () => {
    const booth = await h.client(boothStaff('x1'));
    expect(await booth.command('lead.capture', { event: 'expo', exhibitor: 'x1', code: 'NOT-A-TICKET' })).toMatchObject({ op: 'err', code: 'not_found' });
    expect(await booth.command('lead.capture', { event: 'expo', exhibitor: 'x2', code: 'A4' })).toMatchObject({ op: 'err', code: 'forbidden' });
    expect(await booth.command('lead.capture', { event: 'expo', exhibitor: 'x1', code: 'A4', rating: 6 })).toMatchObject({ op: 'err', code: 'invalid' });
    for (const who of [sponsorOf('big'), staff, { role: 'attendee' as const, events: ['expo'] }]) {
      const c = await h.client(who);
      expect(await c.command('lead.capture', { event: 'expo', exhibitor: 'x1', code: 'A4' })).toMatchObject({ op: 'err', code: 'forbidden' });
    }
    const root = await h.client(admin);
    expect(ok<{ created: boolean }>(await root.command('lead.capture', { event: 'expo', exhibitor: 'x3', code: 'A4' })).created).toBe(true);
  });

  it('updates rating, notes and tags of its own leads only', async () => {
    const booth = await h.client(boothStaff('x3'));
    const { lead } = ok<{ lead: Lead }>(await booth.command('lead.capture', { event: 'expo', exhibitor: 'x3', code: 'A5', rating: 2 }));
    const updated = ok<{ lead: Lead }>(await booth.command('lead.update', { event: 'expo', exhibitor: 'x3', lead: lead.id, rating: null, notes: 'call back', tags: ['q3'] }));
    expect(updated.lead).toMatchObject({ id: lead.id, rating: null, notes: 'call back', tags: ['q3'], visits: 1 });
    expect(await booth.command('lead.update', { event: 'expo', exhibitor: 'x3', lead: lead.id })).toMatchObject({ op: 'err', code: 'invalid' });
    const other = await h.client(boothStaff('x1'));
    expect(await other.command('lead.update', { event: 'expo', exhibitor: 'x1', lead: lead.id, rating: 5 })).toMatchObject({ op: 'err', code: 'not_found' });
    expect(await other.command('lead.update', { event: 'expo', exhibitor: 'x3', lead: lead.id, rating: 5 })).toMatchObject({ op: 'err', code: 'forbidden' });
  });

  it('accepts a signed ticket token from the box office as the badge', async () => {
    const issued = await h.call<{ code: string; token: string }>('POST', '/api/v1/events/expo/tickets/issue', staff, { holder: 'Door Buyer', email: 'door@example.org' });
    expect(issued.status).toBe(201);
    await h.call('POST', '/api/v1/events/expo/consents', staff, { code: issued.body.code, fields: ['name'] });
    const booth = await h.client(boothStaff('x2'));
    const first = ok<{ lead: Lead }>(await booth.command('lead.capture', { event: 'expo', exhibitor: 'x2', code: issued.body.token }));
    expect(first.lead.attendee).toEqual({ name: 'Door Buyer' });
    const byCode = ok<{ lead: Lead; created: boolean }>(await booth.command('lead.capture', { event: 'expo', exhibitor: 'x2', code: issued.body.code }));
    expect(byCode).toMatchObject({ created: false, lead: { id: first.lead.id, visits: 2 } });
  });

  it('records every scan in analytics as a booth visit, with the booth zone', async () => {
    const { analytics } = h.t.backends;
    await h.t.hub.analyticsRelay.drain();
    const rows = await analytics.query<{ kind: string; exhibitor: string; zone: string; n: string }>(
      "SELECT kind, exhibitor, zone, count() AS n FROM events WHERE event = 'expo' AND kind LIKE 'lead.%' GROUP BY kind, exhibitor, zone ORDER BY kind, exhibitor",
    );
    expect(rows.find((r) => r.kind === 'lead.captured' && r.exhibitor === 'x1')).toMatchObject({ zone: 'booth-1', n: '3' });
    expect(rows.find((r) => r.kind === 'lead.rescanned' && r.exhibitor === 'x1')).toMatchObject({ zone: 'booth-1', n: '1' });
    expect(rows.find((r) => r.kind === 'lead.updated' && r.exhibitor === 'x3')).toMatchObject({ zone: 'booth-3', n: '1' });
  });
});

describe('the live stream event/{e}/leads/{x}', () => {
  it('reaches the booth, its sponsor and admins, and nobody else', async () => {
    const allowed = [boothStaff('x1'), sponsorOf('big'), admin];
    const refused = [boothStaff('x2'), sponsorOf('small'), staff, { role: 'attendee' as const, events: ['expo'] }, { role: 'moderator' as const, events: ['expo'] }];
    const watchers = [];
    for (const who of allowed) {
      const c = await h.client(who);
      expect(await c.subscribe(leadsTopic('x1'))).toMatchObject({ op: 'ok' });
      watchers.push(c);
    }
    for (const who of refused) {
      const c = await h.client(who);
      expect(await c.subscribe(leadsTopic('x1'))).toMatchObject({ op: 'err', code: 'forbidden' });
    }
    const booth = await h.client(boothStaff('x1'));
    const { lead } = ok<{ lead: Lead }>(await booth.command('lead.capture', { event: 'expo', exhibitor: 'x1', code: 'A4', notes: 'streamed' }));
    for (const watcher of watchers) {
      const frame = await watcher.next((f) => f.op === 'msg' && f.topic === leadsTopic('x1'));
      expect(LeadMessage.parse(frame.data)).toMatchObject({ type: 'captured', lead: { id: lead.id, notes: 'streamed' } });
    }
  });

  it('a sponsor\'s subscribe that is cancelled at once stays cancelled (the Store lookup does not outlive the unsub)', async () => {
    const rep = await h.client(sponsorOf('big'));
    rep.send({ op: 'sub', topic: leadsTopic('x2'), id: 'late' });
    rep.send({ op: 'unsub', topic: leadsTopic('x2'), id: 'gone' });
    await rep.next((f) => f.id === 'gone');
    await rep.next((f) => f.id === 'late');
    const watcher = await h.client(admin);
    await watcher.subscribe(leadsTopic('x2'));
    const booth = await h.client(boothStaff('x2'));
    ok(await booth.command('lead.capture', { event: 'expo', exhibitor: 'x2', code: 'A3' }));
    await watcher.next((f) => f.op === 'msg' && f.topic === leadsTopic('x2'));
    // Delivery to every subscriber of a publish happens together: the admin has it, so the sponsor would have too.
    expect(rep.messages(leadsTopic('x2'))).toHaveLength(0);
  });

  it('follows the Store: a booth moved to another sponsor streams to the new one from the next subscribe', async () => {
    await h.call('POST', '/api/v1/events/expo/exhibitors', staff, { id: 'x2', name: 'Big Corp South', zone: 'booth-2', sponsor: 'small' });
    const big = await h.client(sponsorOf('big'));
    const small = await h.client(sponsorOf('small'));
    expect(await big.subscribe(leadsTopic('x2'))).toMatchObject({ op: 'err', code: 'forbidden' });
    expect(await small.subscribe(leadsTopic('x2'))).toMatchObject({ op: 'ok' });
    expect((await h.call('GET', '/api/v1/events/expo/exhibitors/x2/leads', sponsorOf('big'))).status).toBe(403);
    await h.call('POST', '/api/v1/events/expo/exhibitors', staff, { id: 'x2', name: 'Big Corp South', zone: 'booth-2', sponsor: 'big' });
    expect(await big.subscribe(leadsTopic('x2'))).toMatchObject({ op: 'ok' });
  });
});

describe('leads over REST', () => {
  it('pages through a booth\'s leads in capture order with an opaque cursor', async () => {
    const all: Lead[] = [];
    let after: string | null = null;
    let pages = 0;
    do {
      const query: string = after ? `?limit=2&after=${after}` : '?limit=2';
      const res: { status: number; body: LeadPage } = await h.call<LeadPage>('GET', `/api/v1/events/expo/exhibitors/x1/leads${query}`, sponsorOf('big'));
      expect(res.status).toBe(200);
      all.push(...res.body.leads);
      after = res.body.next;
      pages++;
    } while (after);
    expect(all.map((l) => l.attendee.name ?? '(hidden)')).toEqual(['Ada Lovelace', 'Grace Hopper', '(hidden)', '(hidden)']);
    expect(pages).toBe(3);
    const whole = await h.call<LeadPage>('GET', '/api/v1/events/expo/exhibitors/x1/leads', boothStaff('x1'));
    expect(whole.body.leads).toEqual(all);
    expect(whole.body.seq).toBeGreaterThan(0);
    expect((await h.call('GET', '/api/v1/events/expo/exhibitors/x1/leads?after=bogus', admin)).status).toBe(400);
    expect((await h.call('GET', '/api/v1/events/expo/exhibitors/x9/leads', admin)).status).toBe(404);
  });
});

describe('isolation', () => {
  it('gives sponsor small 403 on everything of sponsor big, and a booth 403 on other booths', async () => {
    const small = sponsorOf('small');
    for (const path of [
      '/api/v1/events/expo/sponsors/big',
      '/api/v1/events/expo/sponsors/big/summary',
      '/api/v1/events/expo/sponsors/big/engagement',
      '/api/v1/events/expo/analytics/heatmap?dim=zone&sponsor=big',
      '/api/v1/events/expo/analytics/heatmap?dim=session&sponsor=big',
      '/api/v1/events/expo/analytics/heatmap?dim=zone&exhibitor=x1',
      '/api/v1/events/expo/exhibitors/x1/leads',
      '/api/v1/events/expo/exhibitors/x1/leads.csv',
    ]) {
      const res = await h.call<{ error: string }>('GET', path, small);
      expect([path, res.status, res.body]).toEqual([path, 403, expect.objectContaining({ error: 'forbidden' })]);
    }
    const c = await h.client(small);
    expect(await c.subscribe(leadsTopic('x1'))).toMatchObject({ op: 'err', code: 'forbidden' });

    for (const path of ['/api/v1/events/expo/exhibitors/x2/leads', '/api/v1/events/expo/exhibitors/x2/leads.csv', '/api/v1/events/expo/analytics/heatmap?dim=zone&exhibitor=x2', '/api/v1/events/expo/analytics/heatmap?dim=session', '/api/v1/events/expo/sponsors/small/summary', '/api/v1/events/expo/sponsors/big/engagement']) {
      expect([path, (await h.call('GET', path, boothStaff('x1'))).status]).toEqual([path, 403]);
    }
    // A token for another event sees nothing of this one, whatever its role claims.
    expect((await h.call('GET', '/api/v1/events/expo/sponsors/big/summary', { role: 'sponsor', sponsor: 'big', events: ['other'] })).status).toBe(403);
  });

  it('shows a booth its own booth of its sponsor\'s dashboard, and the sponsor all of it', async () => {
    const asBooth = await h.call<{ booths: { id: string }[]; sessions: unknown[] }>('GET', '/api/v1/events/expo/sponsors/big/summary', boothStaff('x1'));
    expect(asBooth.status).toBe(200);
    expect(asBooth.body.booths.map((b) => b.id)).toEqual(['x1']);
    expect(asBooth.body.sessions).toEqual([]);
    const heat = await h.call<{ rows: { id: string }[] }>('GET', '/api/v1/events/expo/analytics/heatmap?dim=zone', boothStaff('x1'));
    expect(heat.body.rows.map((r) => r.id)).toEqual(['booth-1']);
    const asSponsor = await h.call<{ booths: { id: string; leads: number }[]; sessions: { session: string }[] }>('GET', '/api/v1/events/expo/sponsors/big/summary', sponsorOf('big'));
    expect(asSponsor.body.booths.map((b) => [b.id, b.leads])).toEqual([['x1', 4], ['x2', 3]]);
    expect(asSponsor.body.sessions.map((s) => s.session)).toEqual(['keynote']);
    const sponsorHeat = await h.call<{ rows: { id: string }[] }>('GET', '/api/v1/events/expo/analytics/heatmap?dim=zone', sponsorOf('big'));
    expect(sponsorHeat.body.rows.map((r) => r.id)).toEqual(['booth-1', 'booth-2']);
  });
});
