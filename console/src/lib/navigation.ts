import type { Claims, Role } from '@opshub/schema';

export interface NavItem {
  readonly href: string;
  readonly label: string;
}

/** Roles that run the control room. The hub's permission table is the authority; this only hides dead ends. */
export const controlRoomRoles: readonly Role[] = ['admin', 'staff'];

export function canOpenControlRoom(claims: Pick<Claims, 'role'>): boolean {
  return controlRoomRoles.includes(claims.role);
}

/** Roles that sell at the door and see money (issue 15); the hub's permission table is the authority. */
export const boxOfficeRoles: readonly Role[] = ['admin', 'staff'];

export function canSell(claims: Pick<Claims, 'role'>): boolean {
  return boxOfficeRoles.includes(claims.role);
}

/** Roles that create and edit events, import rosters, issue and revoke tickets, pair gates and read the audit log. */
export const setupRoles: readonly Role[] = ['admin', 'staff'];

export function canSetUp(claims: Pick<Claims, 'role'>): boolean {
  return setupRoles.includes(claims.role);
}

/** Roles that run a session's Q&A, polls and chat (issue 5): the moderator page and the projector view. */
export const moderationRoles: readonly Role[] = ['admin', 'staff', 'moderator'];

export function canModerate(claims: Pick<Claims, 'role'>): boolean {
  return moderationRoles.includes(claims.role);
}

/** Roles for whom the audience page is useful (attendees vote and ask; the room's runners see what they see). */
const audienceRoles: readonly Role[] = ['attendee', ...moderationRoles];

/**
 * The pages a role can use for an event, in menu order; with `session`, also that session's engagement pages
 * (attendees: the audience page; moderators, staff, admins: the moderator page and the projector view too).
 * @example navFor({ role: 'attendee' }, 'expo') // [{ href: '/announcements/expo', label: 'Announcements' }]
 * @example navFor({ role: 'attendee' }, 'expo', 'keynote').at(-1) // { href: '/live/expo/keynote', label: 'Audience' }
 */
export function navFor(claims: Pick<Claims, 'role'> & Partial<Pick<Claims, 'sponsor' | 'exhibitor'>>, event: string, session?: string): NavItem[] {
  const e = encodeURIComponent(event);
  const items: NavItem[] = [];
  if (canOpenControlRoom(claims)) items.push({ href: `/ops/${e}`, label: 'Control room' });
  if (canSell(claims)) items.push({ href: `/box-office/${e}`, label: 'Box office' });
  // Running the event without curl (issue 13): set-up (details, roster, consents), tickets, gate pairing, audit.
  if (canSetUp(claims)) {
    items.push(
      { href: `/tickets/${e}`, label: 'Tickets' },
      { href: `/gates/${e}`, label: 'Gates' },
      { href: `/events/${e}`, label: 'Set-up' },
      { href: `/sessions/${e}`, label: 'Sessions' },
      { href: `/audit/${e}`, label: 'Audit' },
    );
  }
  // Where sessions are run (their list and the join code), and the sponsors with their dashboards and booths.
  const moderation = moderationEntry(claims, event);
  if (moderation) items.push(moderation);
  if (canSetUp(claims)) items.push({ href: `/sponsor/${e}`, label: 'Sponsors' });
  // A sponsor's own dashboard (issue 6); the hub refuses any other sponsor's data.
  if (claims.role === 'sponsor' && claims.sponsor) items.push({ href: `/sponsor/${e}/${encodeURIComponent(claims.sponsor)}`, label: 'Sponsor dashboard' });
  // Booth staff capture leads on a phone (issue 17); the hub lets an exhibitor token capture only for its own booth.
  if (claims.role === 'exhibitor' && claims.exhibitor) items.push({ href: `/booth/${e}/${encodeURIComponent(claims.exhibitor)}`, label: 'Booth app' });
  items.push({ href: `/announcements/${e}`, label: 'Announcements' });
  if (session !== undefined) {
    const s = encodeURIComponent(session);
    if (audienceRoles.includes(claims.role)) items.push({ href: `/live/${e}/${s}`, label: 'Audience' });
    if (canModerate(claims)) items.push({ href: `/moderate/${e}/${s}`, label: 'Moderate' }, { href: `/projector/${e}/${s}`, label: 'Projector' });
  }
  return items;
}

/**
 * Where the people who run sessions start for an event: its session list and join code. Undefined for other roles.
 * @example moderationEntry({ role: 'moderator' }, 'expo') // { href: '/moderate/expo', label: 'Moderation' }
 */
export function moderationEntry(claims: Pick<Claims, 'role'>, event: string): NavItem | undefined {
  return canModerate(claims) ? { href: `/moderate/${encodeURIComponent(event)}`, label: 'Moderation' } : undefined;
}

/** The events a token names; `null` for an admin's `["*"]` (any event: the console asks which). */
export function eventsOf(claims: Pick<Claims, 'events'>): string[] | null {
  return claims.events.includes('*') ? null : [...claims.events];
}
