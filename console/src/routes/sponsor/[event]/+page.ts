import { error } from '@sveltejs/kit';
import { Exhibitor, Sponsor } from '@opshub/schema';
import { z } from 'zod';
import { getJson, HubApiError } from '$lib/api/hub-api.ts';
import { loadEvent } from '$lib/api/load-event.ts';
import { canSetUp } from '$lib/navigation.ts';
import type { PageLoad } from './$types';

const SponsorList = z.object({ sponsors: z.array(Sponsor.omit({ exhibitors: true })) });
const ExhibitorList = z.object({ exhibitors: z.array(Exhibitor) });

/** Every sponsor of the event with its booths, for the people who run it: a way into each dashboard and booth app. */
export const load: PageLoad = async ({ params, parent, fetch }) => {
  const { session } = await parent();
  if (session.kind === 'signed-in' && !canSetUp(session.session.claims)) {
    error(403, { message: `The list of sponsors is for staff and admins; you are signed in as ${session.session.claims.role}.` });
  }
  const page = await loadEvent(fetch, session, params.event);
  if (!page) return { page: null, sponsors: [], exhibitors: [] };
  const base = `/api/v1/events/${encodeURIComponent(params.event)}`;
  try {
    const [sponsors, exhibitors] = await Promise.all([getJson(fetch, `${base}/sponsors`, page.token, SponsorList), getJson(fetch, `${base}/exhibitors`, page.token, ExhibitorList)]);
    return { page, sponsors: sponsors.sponsors, exhibitors: exhibitors.exhibitors };
  } catch (e) {
    if (e instanceof HubApiError) error(e.status === 0 ? 503 : e.status, { message: e.message, code: e.code });
    throw e;
  }
};
