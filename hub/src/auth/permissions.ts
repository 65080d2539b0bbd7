import { hasEvent, type Claims, type CommandName, type Role, type Topic, type TopicKind } from '@opshub/schema';

/**
 * `yes`: any holder of the role for the topic's event. `no`: never.
 * `own`: only for the exhibitor named in the token's `exhibitor` claim (booth staff see their own booth).
 * `linked`: only for an exhibitor that belongs to the sponsor named in the token's `sponsor` claim (a sponsor sees its
 * own exhibitors). The link is in the Store, not in the token, so it is looked up when the rule is applied: see
 * {@link subscribeAccess}.
 */
export type Rule = 'yes' | 'no' | 'own' | 'linked';

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
  leads:         { admin: 'yes', staff: 'no', gate: 'no', moderator: 'no', exhibitor: 'own', sponsor: 'linked', attendee: 'no' },
  // Web push delivery figures (issue 16): the control room's.
  push:          { admin: 'yes', staff: 'yes', gate: 'no', moderator: 'no', exhibitor: 'no', sponsor: 'no', attendee: 'no' },
  // How many screens showed each announcement (issue 12): the control room's.
  'announcements.shown': { admin: 'yes', staff: 'yes', gate: 'no', moderator: 'no', exhibitor: 'no', sponsor: 'no', attendee: 'no' },
};

/** Who may send which command. The event a command acts on (its `event` argument) must be in the token too. */
export const commandRules: Readonly<Record<CommandName, Readonly<Record<Role, Rule>>>> = {
  'announce.send': { admin: 'yes', staff: 'yes', gate: 'no', moderator: 'no', exhibitor: 'no', sponsor: 'no', attendee: 'no' },
  'announce.end': { admin: 'yes', staff: 'yes', gate: 'no', moderator: 'no', exhibitor: 'no', sponsor: 'no', attendee: 'no' },
  // Every page that shows announcements reports it (issue 12); gates report through their agent's presence instead.
  'announce.shown': { admin: 'yes', staff: 'yes', gate: 'no', moderator: 'yes', exhibitor: 'yes', sponsor: 'yes', attendee: 'yes' },
  'alert.ack': { admin: 'yes', staff: 'yes', gate: 'no', moderator: 'no', exhibitor: 'no', sponsor: 'no', attendee: 'no' },
  'capacity.correct': { admin: 'yes', staff: 'yes', gate: 'no', moderator: 'no', exhibitor: 'no', sponsor: 'no', attendee: 'no' },
  // Control-room levers (issue 12).
  'gate.state': { admin: 'yes', staff: 'yes', gate: 'no', moderator: 'no', exhibitor: 'no', sponsor: 'no', attendee: 'no' },
  'zone.state': { admin: 'yes', staff: 'yes', gate: 'no', moderator: 'no', exhibitor: 'no', sponsor: 'no', attendee: 'no' },
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
  // Leads (issue 6): booth staff scan and qualify at their own booth; sponsors only watch (the leads topic).
  'lead.capture':    { admin: 'yes', staff: 'no', gate: 'no', moderator: 'no', exhibitor: 'own', sponsor: 'no', attendee: 'no' },
  'lead.update':     { admin: 'yes', staff: 'no', gate: 'no', moderator: 'no', exhibitor: 'own', sponsor: 'no', attendee: 'no' },
};

/**
 * May these claims subscribe to this topic, as far as the table decides alone? A `linked` rule needs the Store and is
 * answered `false` here (closed, never open): callers that can wait use {@link subscribeAccess}.
 * @example canSubscribe({ role: 'attendee', events: ['expo'], sub: 'a' }, parseTopic('event/expo/qa/s1/mod')!) // false
 */
export function canSubscribe(claims: Claims, topic: Topic): boolean {
  if (!hasEvent(claims, topic.event)) return false;
  return allows(subscribeRules[topic.kind][claims.role], claims, topic.kind === 'leads' ? topic.exhibitor : undefined);
}

/** What the Store knows and a token does not: which sponsor an exhibitor belongs to. */
export interface SponsorLinks {
  /** true when `exhibitor` of `event` belongs to `sponsor` */
  isLinked(event: string, sponsor: string, exhibitor: string): Promise<boolean>;
}

/**
 * May these claims subscribe to (or read the state of) this topic, `linked` rules included? The answer is a plain
 * boolean whenever the table decides alone, so a caller keeps its frames in order; only a `linked` rule (a sponsor on
 * an exhibitor's leads) answers with a promise of the Store lookup. Without `links`, `linked` is refused.
 *
 * Why a lookup rather than the exhibitor ids in the sponsor's token: tokens may come from an identity provider
 * (`HUB_JWKS_URL`) that knows who the sponsor is but not which booths it has, and a booth moved to another sponsor
 * must stop streaming to the old one at once, not when its tokens expire.
 *
 * @example
 * const access = subscribeAccess(claims, { kind: 'leads', event: 'expo', exhibitor: 'acme' }, links);
 * if (access === true || (access !== false && (await access))) subscribe();
 */
export function subscribeAccess(claims: Claims, topic: Topic, links?: SponsorLinks): boolean | Promise<boolean> {
  if (!hasEvent(claims, topic.event)) return false;
  const rule = subscribeRules[topic.kind][claims.role];
  if (rule !== 'linked') return allows(rule, claims, topic.kind === 'leads' ? topic.exhibitor : undefined);
  if (topic.kind !== 'leads' || !links || claims.sponsor === undefined) return false;
  return links.isLinked(topic.event, claims.sponsor, topic.exhibitor);
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
