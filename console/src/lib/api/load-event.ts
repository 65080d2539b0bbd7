import { error } from '@sveltejs/kit';
import { Id } from '@opshub/schema';
import type { SessionState } from '../session.ts';
import { EventDetails } from './event-details.ts';
import { getJson, HubApiError } from './hub-api.ts';

export interface EventPageData {
  readonly event: EventDetails;
  readonly token: string;
}

/**
 * Loads the event a page is about, for a signed-in session; turns the hub's refusal into the page's error.
 * Returns null when signed out (the layout shows the sign-in page instead).
 */
export async function loadEvent(fetchFn: typeof fetch, session: SessionState, id: string): Promise<EventPageData | null> {
  if (session.kind !== 'signed-in') return null;
  if (!Id.safeParse(id).success) error(404, { message: `"${id}" is not an event id` });
  try {
    const event = await getJson(fetchFn, `/api/v1/events/${encodeURIComponent(id)}`, session.session.token, EventDetails);
    return { event, token: session.session.token };
  } catch (e) {
    if (e instanceof HubApiError) error(e.status === 0 ? 503 : e.status, { message: e.message, code: e.code });
    throw e;
  }
}
