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

/**
 * The pages a role can use for an event, in menu order.
 * @example navFor({ role: 'attendee' }, 'expo') // [{ href: '/announcements/expo', label: 'Announcements' }]
 */
export function navFor(claims: Pick<Claims, 'role'>, event: string): NavItem[] {
  const e = encodeURIComponent(event);
  const items: NavItem[] = [];
  if (canOpenControlRoom(claims)) items.push({ href: `/ops/${e}`, label: 'Control room' });
  items.push({ href: `/announcements/${e}`, label: 'Announcements' });
  return items;
}

/** The events a token names; `null` for an admin's `["*"]` (any event: the console asks which). */
export function eventsOf(claims: Pick<Claims, 'events'>): string[] | null {
  return claims.events.includes('*') ? null : [...claims.events];
}
