import { Id } from './claims.ts';

/** The shape of every topic the hub carries, parsed from its string form. */
export type Topic =
  | { kind: 'checkins' | 'capacity' | 'gates' | 'alerts' | 'announcements' | 'revenue' | 'polls' | 'push'; event: string }
  | { kind: 'qa' | 'qa.mod'; event: string; session: string }
  | { kind: 'chat' | 'chat.mod'; event: string; room: string }
  | { kind: 'leads'; event: string; exhibitor: string }
  /** how many screens showed each announcement (issue 12): `event/{e}/announcements/shown` */
  | { kind: 'announcements.shown'; event: string };

export type TopicKind = Topic['kind'];

const eventWide = new Set(['checkins', 'capacity', 'gates', 'alerts', 'announcements', 'revenue', 'polls', 'push']);
const isId = (s: string | undefined): s is string => s !== undefined && Id.safeParse(s).success;

/**
 * Parses `event/{e}/...` into a typed topic, or returns null for anything the contract does not name.
 * @example parseTopic('event/expo/qa/keynote/mod') // { kind: 'qa.mod', event: 'expo', session: 'keynote' }
 */
export function parseTopic(topic: string): Topic | null {
  if (topic.length > 200) return null;
  const parts = topic.split('/');
  if (parts[0] !== 'event' || !isId(parts[1])) return null;
  const event = parts[1];
  const [, , kind, sub, mod] = parts;
  if (parts.length === 3 && kind !== undefined && eventWide.has(kind)) return { kind, event } as Topic;
  if ((kind === 'qa' || kind === 'chat') && isId(sub)) {
    if (parts.length === 4) return kind === 'qa' ? { kind, event, session: sub } : { kind, event, room: sub };
    if (parts.length === 5 && mod === 'mod') {
      return kind === 'qa' ? { kind: 'qa.mod', event, session: sub } : { kind: 'chat.mod', event, room: sub };
    }
  }
  if (kind === 'leads' && parts.length === 4 && isId(sub)) return { kind, event, exhibitor: sub };
  if (kind === 'announcements' && parts.length === 4 && sub === 'shown') return { kind: 'announcements.shown', event };
  return null;
}

/** Builds the string form of a topic; the inverse of {@link parseTopic}. */
export function topicName(t: Topic): string {
  switch (t.kind) {
    case 'qa':
      return `event/${t.event}/qa/${t.session}`;
    case 'qa.mod':
      return `event/${t.event}/qa/${t.session}/mod`;
    case 'chat':
      return `event/${t.event}/chat/${t.room}`;
    case 'chat.mod':
      return `event/${t.event}/chat/${t.room}/mod`;
    case 'leads':
      return `event/${t.event}/leads/${t.exhibitor}`;
    case 'announcements.shown':
      return `event/${t.event}/announcements/shown`;
    default:
      return `event/${t.event}/${t.kind}`;
  }
}
