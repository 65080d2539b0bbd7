import { error } from '@sveltejs/kit';
import { canSetUp } from '$lib/navigation.ts';
import type { PageLoad } from './$types';

export const load: PageLoad = async ({ parent }) => {
  const { session } = await parent();
  if (session.kind === 'signed-in' && !canSetUp(session.session.claims)) {
    error(403, { message: `Creating events is for admin and staff; you are signed in as ${session.session.claims.role}.` });
  }
  return { token: session.kind === 'signed-in' ? session.session.token : null };
};
