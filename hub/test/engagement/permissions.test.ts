import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { roles, type CommandName, type Role } from '@opshub/schema';
import { commandRules } from '../../src/auth/permissions.ts';
import type { TestClient } from '../support/ws-client.ts';
import { ok, startEngagementHub, type EngagementHub } from './support.ts';

/** Events A ("expo") and B ("other"), a poll, a pending and an approved question, and a message in each. */
let h: EngagementHub;
const fixtures: Record<string, { poll: string; pending: string; approved: string; message: string }> = {};

const moderatorCommands = (Object.keys(commandRules) as CommandName[]).filter(
  (name) => /^(poll|qa|chat)\./.test(name) && commandRules[name].attendee === 'no',
);

/** Arguments that would succeed for a moderator of `event`, per moderator command. */
function argsFor(name: CommandName, event: string): Record<string, unknown> {
  const f = fixtures[event]!;
  const table: Partial<Record<CommandName, Record<string, unknown>>> = {
    'poll.create': { kind: 'rating', question: 'Sneaky?', open: true },
    'poll.open': { poll: f.poll },
    'poll.close': { poll: f.poll },
    'poll.settings': { poll: f.poll, allowChange: true },
    'qa.approve': { id: f.pending },
    'qa.reject': { id: f.approved },
    'qa.edit': { id: f.pending, text: 'rewritten' },
    'qa.pin': { id: f.approved },
    'qa.answer': { id: f.approved },
    'qa.settings': { session: 's1', moderation: 'post' },
    'chat.delete': { id: f.message },
    'chat.approve': { id: f.message },
    'chat.mute': { user: 'attendee-victim', seconds: 600 },
    'chat.unmute': { user: 'attendee-victim' },
    'chat.words': { add: ['forbidden-word'] },
    'chat.settings': { room: 'r1', filter: 'hold' },
  };
  const args = table[name];
  if (!args) throw new Error(`no arguments for ${name}`);
  return { event, ...args };
}

/** Everything a moderator of `event` could observe about its engagement state. */
async function snapshot(event: string): Promise<unknown> {
  const get = async (path: string) => (await h.t.api(path, { claims: { role: 'admin', events: ['*'] } })).json();
  return {
    polls: await get(`/api/v1/events/${event}/polls`),
    qa: await get(`/api/v1/events/${event}/qa/s1?status=all`),
    chat: await get(`/api/v1/events/${event}/chat/r1`),
    words: await get(`/api/v1/events/${event}/moderation/words`),
    mutes: await get(`/api/v1/events/${event}/moderation/mutes`),
    audit: (await h.audit()).length,
  };
}

beforeAll(async () => {
  h = await startEngagementHub(['expo', 'other']);
  for (const event of ['expo', 'other']) {
    const mod = await h.client('moderator', { events: [event] });
    const attendee = await h.client('attendee', { events: [event] });
    const poll = ok<{ id: string }>(await mod.command('poll.create', { event, kind: 'single', question: 'Q?', options: ['a', 'b'], open: true })).id;
    const pending = ok<{ id: string }>(await attendee.command('qa.ask', { event, session: 's1', text: 'pending' })).id;
    const approved = ok<{ id: string }>(await attendee.command('qa.ask', { event, session: 's1', text: 'approved' })).id;
    ok(await mod.command('qa.approve', { event, id: approved }));
    const message = ok<{ id: string }>(await attendee.command('chat.send', { event, room: 'r1', text: 'hello' })).id;
    fixtures[event] = { poll, pending, approved, message };
  }
});
afterAll(() => h?.close());

describe('the engagement rows of the permission table', () => {
  it('covers every engagement command, moderator commands for admin, staff and moderator only', () => {
    expect(moderatorCommands).toHaveLength(16);
    for (const name of moderatorCommands) {
      expect(roles.filter((r) => commandRules[name][r] === 'yes')).toEqual(['admin', 'staff', 'moderator']);
    }
    expect(roles.filter((r) => commandRules['poll.vote'][r] === 'yes')).toEqual(['attendee']);
    expect(roles.filter((r) => commandRules['qa.upvote'][r] === 'yes')).toEqual(['attendee']);
  });

  it('an attendee cannot moderate: every moderator command is refused, and nothing changes', async () => {
    const before = await snapshot('expo');
    for (const name of moderatorCommands) {
      // One attendee per command: after a refusal the hub turns that attendee's next commands away as rate_limited
      // for a second (issue 11), and this asks what the permission table says of each command.
      const attendee = await h.client('attendee', { sub: `attendee-victim-${name}` });
      const reply = await attendee.command(name, argsFor(name, 'expo'));
      expect([name, reply]).toMatchObject([name, { op: 'err', code: 'forbidden' }]);
    }
    expect(await snapshot('expo')).toEqual(before);
  });

  it('a moderator of event A cannot act on event B, and B does not change', async () => {
    const modA = await h.client('moderator', { events: ['expo'] });
    const before = await snapshot('other');
    for (const name of moderatorCommands) {
      const reply = await modA.command(name, argsFor(name, 'other'));
      expect([name, reply]).toMatchObject([name, { op: 'err', code: 'forbidden', message: expect.stringContaining('"other"') }]);
    }
    // Nor read its moderator state, nor subscribe to its queues.
    const res = await h.t.api('/api/v1/events/other/qa/s1', { claims: { role: 'moderator', events: ['expo'] } });
    expect(res.status).toBe(403);
    expect(await modA.subscribe('event/other/qa/s1/mod')).toMatchObject({ op: 'err', code: 'forbidden' });
    expect(await snapshot('other')).toEqual(before);
  });

  it('roles without a part in engagement can neither take part nor moderate', async () => {
    const before = await snapshot('expo');
    const audience: [CommandName, Record<string, unknown>][] = [
      ['poll.vote', { event: 'expo', poll: fixtures.expo!.poll, options: ['1'] }],
      ['qa.ask', { event: 'expo', session: 's1', text: 'hi' }],
      ['qa.upvote', { event: 'expo', id: fixtures.expo!.approved }],
      ['chat.send', { event: 'expo', room: 'r1', text: 'hi' }],
    ];
    for (const role of ['gate', 'exhibitor', 'sponsor'] as Role[]) {
      const client = await h.client(role);
      for (const [name, args] of audience) expect([role, name, await client.command(name, args)]).toMatchObject([role, name, { op: 'err', code: 'forbidden' }]);
      expect(await client.command('qa.approve', argsFor('qa.approve', 'expo'))).toMatchObject({ op: 'err', code: 'forbidden' });
    }
    // Moderators run polls but do not vote in them (results are the audience's).
    const mod = await h.client('moderator');
    expect(await mod.command('poll.vote', { event: 'expo', poll: fixtures.expo!.poll, options: ['1'] })).toMatchObject({ op: 'err', code: 'forbidden' });
    expect(await snapshot('expo')).toEqual(before);
  });

  it('malformed arguments are refused as invalid before any handler runs, whoever sends them', async () => {
    const engagement = (Object.keys(commandRules) as CommandName[]).filter((name) => /^(poll|qa|chat)\./.test(name));
    const admin = await h.client('admin', { events: ['*'] });
    const before = await snapshot('expo');
    for (const name of engagement) {
      for (const args of [{}, { event: 'expo', id: 42, poll: [], session: '../x', room: '', text: 7 }, { event: 'bad/event' }]) {
        const reply = await admin.command(name, args);
        expect([name, reply]).toMatchObject([name, { op: 'err', code: 'invalid' }]);
      }
    }
    expect(await snapshot('expo')).toEqual(before);
  });

  it('the same commands succeed for a moderator of the event (the refusals above were about the role)', async () => {
    const mod: TestClient = await h.client('moderator', { events: ['other'] });
    for (const name of ['qa.approve', 'qa.edit', 'chat.words', 'poll.settings'] as CommandName[]) {
      expect([name, (await mod.command(name, argsFor(name, 'other'))).op]).toEqual([name, 'ok']);
    }
  });
});
