import { hasEvent, type Claims, type CommandName, type Role, type Topic, type TopicKind } from '@opshub/schema';

/**
 * `yes`: any holder of the role for the topic's event. `no`: never.
 * `own`: only for the exhibitor named in the token's `exhibitor` claim (booth staff see their own booth).
 */
export type Rule = 'yes' | 'no' | 'own';

/**
 * Who may subscribe to what: the one table the hub consults for every `sub`.
 * Every rule also requires the token to carry the topic's event (admins carry `["*"]`).
 */
export const subscribeRules: Readonly<Record<TopicKind, Readonly<Record<Role, Rule>>>> = {
  //              admin  staff  gate   moderator exhibitor sponsor attendee
  checkins:      { admin: 'yes', staff: 'yes', gate: 'yes', moderator: 'no', exhibitor: 'no', sponsor: 'no', attendee: 'no' },
  capacity:      { admin: 'yes', staff: 'yes', gate: 'yes', moderator: 'no', exhibitor: 'no', sponsor: 'no', attendee: 'no' },
  gates:         { admin: 'yes', staff: 'yes', gate: 'yes', moderator: 'no', exhibitor: 'no', sponsor: 'no', attendee: 'no' },
  alerts:        { admin: 'yes', staff: 'yes', gate: 'no', moderator: 'no', exhibitor: 'no', sponsor: 'no', attendee: 'no' },
  announcements: { admin: 'yes', staff: 'yes', gate: 'yes', moderator: 'yes', exhibitor: 'yes', sponsor: 'yes', attendee: 'yes' },
  revenue:       { admin: 'yes', staff: 'yes', gate: 'no', moderator: 'no', exhibitor: 'no', sponsor: 'no', attendee: 'no' },
  polls:         { admin: 'yes', staff: 'yes', gate: 'no', moderator: 'yes', exhibitor: 'no', sponsor: 'no', attendee: 'yes' },
  qa:            { admin: 'yes', staff: 'yes', gate: 'no', moderator: 'yes', exhibitor: 'no', sponsor: 'no', attendee: 'yes' },
  'qa.mod':      { admin: 'yes', staff: 'yes', gate: 'no', moderator: 'yes', exhibitor: 'no', sponsor: 'no', attendee: 'no' },
  chat:          { admin: 'yes', staff: 'yes', gate: 'no', moderator: 'yes', exhibitor: 'no', sponsor: 'no', attendee: 'yes' },
  'chat.mod':    { admin: 'yes', staff: 'yes', gate: 'no', moderator: 'yes', exhibitor: 'no', sponsor: 'no', attendee: 'no' },
  leads:         { admin: 'yes', staff: 'no', gate: 'no', moderator: 'no', exhibitor: 'own', sponsor: 'no', attendee: 'no' },
};

/** Who may send which command. The event a command acts on (its `event` argument) must be in the token too. */
export const commandRules: Readonly<Record<CommandName, Readonly<Record<Role, Rule>>>> = {
  'announce.send': { admin: 'yes', staff: 'yes', gate: 'no', moderator: 'no', exhibitor: 'no', sponsor: 'no', attendee: 'no' },
  'alert.ack': { admin: 'yes', staff: 'yes', gate: 'no', moderator: 'no', exhibitor: 'no', sponsor: 'no', attendee: 'no' },
  'capacity.correct': { admin: 'yes', staff: 'yes', gate: 'no', moderator: 'no', exhibitor: 'no', sponsor: 'no', attendee: 'no' },
  // Engagement (issue 5): the audience votes, asks, upvotes and chats; moderators, staff and admins run the room.
  'poll.vote':       { admin: 'no', staff: 'no', gate: 'no', moderator: 'no', exhibitor: 'no', sponsor: 'no', attendee: 'yes' },
  'qa.ask':          { admin: 'yes', staff: 'yes', gate: 'no', moderator: 'yes', exhibitor: 'no', sponsor: 'no', attendee: 'yes' },
  'qa.upvote':       { admin: 'no', staff: 'no', gate: 'no', moderator: 'no', exhibitor: 'no', sponsor: 'no', attendee: 'yes' },
  'chat.send':       { admin: 'yes', staff: 'yes', gate: 'no', moderator: 'yes', exhibitor: 'no', sponsor: 'no', attendee: 'yes' },
  'poll.create':     { admin: 'yes', staff: 'yes', gate: 'no', moderator: 'yes', exhibitor: 'no', sponsor: 'no', attendee: 'no' },
  'poll.open':       { admin: 'yes', staff: 'yes', gate: 'no', moderator: 'yes', exhibitor: 'no', sponsor: 'no', attendee: 'no' },
  'poll.close':      { admin: 'yes', staff: 'yes', gate: 'no', moderator: 'yes', exhibitor: 'no', sponsor: 'no', attendee: 'no' },
  'poll.settings':   { admin: 'yes', staff: 'yes', gate: 'no', moderator: 'yes', exhibitor: 'no', sponsor: 'no', attendee: 'no' },
  'qa.approve':      { admin: 'yes', staff: 'yes', gate: 'no', moderator: 'yes', exhibitor: 'no', sponsor: 'no', attendee: 'no' },
  'qa.reject':       { admin: 'yes', staff: 'yes', gate: 'no', moderator: 'yes', exhibitor: 'no', sponsor: 'no', attendee: 'no' },
  'qa.edit':         { admin: 'yes', staff: 'yes', gate: 'no', moderator: 'yes', exhibitor: 'no', sponsor: 'no', attendee: 'no' },
  'qa.pin':          { admin: 'yes', staff: 'yes', gate: 'no', moderator: 'yes', exhibitor: 'no', sponsor: 'no', attendee: 'no' },
  'qa.answer':       { admin: 'yes', staff: 'yes', gate: 'no', moderator: 'yes', exhibitor: 'no', sponsor: 'no', attendee: 'no' },
  'qa.settings':     { admin: 'yes', staff: 'yes', gate: 'no', moderator: 'yes', exhibitor: 'no', sponsor: 'no', attendee: 'no' },
  'chat.delete':     { admin: 'yes', staff: 'yes', gate: 'no', moderator: 'yes', exhibitor: 'no', sponsor: 'no', attendee: 'no' },
  'chat.approve':    { admin: 'yes', staff: 'yes', gate: 'no', moderator: 'yes', exhibitor: 'no', sponsor: 'no', attendee: 'no' },
  'chat.mute':       { admin: 'yes', staff: 'yes', gate: 'no', moderator: 'yes', exhibitor: 'no', sponsor: 'no', attendee: 'no' },
  'chat.unmute':     { admin: 'yes', staff: 'yes', gate: 'no', moderator: 'yes', exhibitor: 'no', sponsor: 'no', attendee: 'no' },
  'chat.words':      { admin: 'yes', staff: 'yes', gate: 'no', moderator: 'yes', exhibitor: 'no', sponsor: 'no', attendee: 'no' },
  'chat.settings':   { admin: 'yes', staff: 'yes', gate: 'no', moderator: 'yes', exhibitor: 'no', sponsor: 'no', attendee: 'no' },
};

/**
 * May these claims subscribe to this topic?
 * @example canSubscribe({ role: 'attendee', events: ['expo'], sub: 'a' }, parseTopic('event/expo/qa/s1/mod')!) // false
 */
export function canSubscribe(claims: Claims, topic: Topic): boolean {
  if (!hasEvent(claims, topic.event)) return false;
  return allows(subscribeRules[topic.kind][claims.role], claims, topic.kind === 'leads' ? topic.exhibitor : undefined);
}

/** May these claims send this command about `event` (and, for `own` rules, about `exhibitor`)? */
export function canCommand(claims: Claims, name: CommandName, event: string, exhibitor?: string): boolean {
  if (!hasEvent(claims, event)) return false;
  return allows(commandRules[name][claims.role], claims, exhibitor);
}

function allows(rule: Rule, claims: Claims, exhibitor: string | undefined): boolean {
  if (rule === 'yes') return true;
  if (rule === 'own') return exhibitor !== undefined && claims.exhibitor === exhibitor;
  return false;
}
