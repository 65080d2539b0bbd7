import { describe, expect, it } from 'vitest';
import { commands, parseTopic, roles, type Claims, type CommandName, type Role, type Topic, type TopicKind } from '@opshub/schema';
import { canCommand, canSubscribe, commandRules, subscribeAccess, subscribeRules, type SponsorLinks } from '../../src/auth/permissions.ts';

const sampleTopic: Record<TopicKind, string> = {
  checkins: 'event/expo/checkins',
  capacity: 'event/expo/capacity',
  gates: 'event/expo/gates',
  alerts: 'event/expo/alerts',
  announcements: 'event/expo/announcements',
  revenue: 'event/expo/revenue',
  polls: 'event/expo/polls',
  qa: 'event/expo/qa/keynote',
  'qa.mod': 'event/expo/qa/keynote/mod',
  chat: 'event/expo/chat/lobby',
  'chat.mod': 'event/expo/chat/lobby/mod',
  leads: 'event/expo/leads/acme',
  push: 'event/expo/push',
  'announcements.shown': 'event/expo/announcements/shown',
};

const claimsFor = (role: Role, extra: Partial<Claims> = {}): Claims => ({ sub: `${role}-1`, role, events: ['expo'], ...extra });

describe('subscribe permission table', () => {
  it('covers every topic kind the schema parses', () => {
    for (const [kind, name] of Object.entries(sampleTopic)) expect(parseTopic(name)?.kind).toBe(kind);
    expect(Object.keys(subscribeRules).sort()).toEqual(Object.keys(sampleTopic).sort());
  });

  for (const kind of Object.keys(subscribeRules) as TopicKind[]) {
    for (const role of roles) {
      const rule = subscribeRules[kind][role];
      it(`${kind} × ${role} = ${rule}`, async () => {
        const topic = parseTopic(sampleTopic[kind]) as Topic;
        if (rule === 'yes') {
          expect(canSubscribe(claimsFor(role), topic)).toBe(true);
        } else if (rule === 'no') {
          expect(canSubscribe(claimsFor(role, { exhibitor: 'acme' }), topic)).toBe(false);
        } else if (rule === 'linked') {
          // Decided by the Store's sponsor → exhibitor link; refused wherever that cannot be looked up.
          const links: SponsorLinks = { isLinked: async (event, sponsor, exhibitor) => event === 'expo' && sponsor === 'big' && exhibitor === 'acme' };
          expect(canSubscribe(claimsFor(role, { sponsor: 'big' }), topic)).toBe(false);
          expect(await subscribeAccess(claimsFor(role, { sponsor: 'big' }), topic, links)).toBe(true);
          expect(await subscribeAccess(claimsFor(role, { sponsor: 'small' }), topic, links)).toBe(false);
          expect(await subscribeAccess(claimsFor(role), topic, links)).toBe(false);
          expect(await subscribeAccess(claimsFor(role, { sponsor: 'big' }), topic)).toBe(false);
        } else {
          expect(canSubscribe(claimsFor(role, { exhibitor: 'acme' }), topic)).toBe(true);
          expect(canSubscribe(claimsFor(role, { exhibitor: 'globex' }), topic)).toBe(false);
          expect(canSubscribe(claimsFor(role), topic)).toBe(false);
        }
        // Whatever the rule, another event's token never gets in, and a wildcard only helps where the rule allows.
        expect(canSubscribe(claimsFor(role, { events: ['other'], exhibitor: 'acme' }), topic)).toBe(false);
      });
    }
  }

  it('keeps moderation and lead streams away from attendees', () => {
    for (const kind of ['qa.mod', 'chat.mod', 'leads', 'alerts', 'checkins'] as const) {
      expect(canSubscribe(claimsFor('attendee'), parseTopic(sampleTopic[kind])!)).toBe(false);
    }
    expect(canSubscribe(claimsFor('admin', { events: ['*'] }), parseTopic('event/any/alerts')!)).toBe(true);
  });
});

describe('command permission table', () => {
  it('has a row for every command', () => {
    expect(Object.keys(commandRules).sort()).toEqual(Object.keys(commands).sort());
  });

  for (const name of Object.keys(commandRules) as CommandName[]) {
    for (const role of roles) {
      const rule = commandRules[name][role];
      it(`${name} × ${role} = ${rule}`, () => {
        expect(canCommand(claimsFor(role, { exhibitor: 'acme' }), name, 'expo', 'acme')).toBe(rule !== 'no');
        expect(canCommand(claimsFor(role, { exhibitor: 'acme' }), name, 'other', 'acme')).toBe(false);
      });
    }
  }

  it('lets only staff and admins announce', () => {
    const allowed = roles.filter((role) => canCommand(claimsFor(role), 'announce.send', 'expo'));
    expect(allowed).toEqual(['admin', 'staff']);
  });
});
