import { EventList } from '@opshub/schema/rest-answers';
import { getJson, HubApiError } from '$lib/api/hub-api.ts';
import type { PageLoad } from './$types';

/** The events the signed-in token may see (`GET /api/v1/events`); a refusal is shown on the page, not as an error page. */
export const load: PageLoad = async ({ parent, fetch }) => {
  const { session } = await parent();
  if (session.kind !== 'signed-in') return { events: null, problem: undefined };
  try {
    const { events } = await getJson(fetch, '/api/v1/events', session.session.token, EventList);
    return { events, problem: undefined };
  } catch (e) {
    return { events: null, problem: e instanceof HubApiError ? e.message : String(e) };
  }
};
