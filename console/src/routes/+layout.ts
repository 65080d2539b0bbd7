import { redirect } from '@sveltejs/kit';
import { readSession, storeToken } from '$lib/session.ts';
import type { LayoutLoad } from './$types';

// A static SPA: the hub serves build/index.html for every client route and the browser renders everything.
export const ssr = false;
export const prerender = false;

/**
 * Sign-in: any console URL accepts `?token=JWT`. The token goes to sessionStorage and the URL is replaced by the
 * same one without it (the redirect replaces the history entry), so it does not stay in the address bar, the
 * history or a screenshot.
 */
export const load: LayoutLoad = ({ url }) => {
  const token = url.searchParams.get('token');
  if (token !== null) {
    if (token) storeToken(token);
    const clean = new URL(url);
    clean.searchParams.delete('token');
    redirect(307, `${clean.pathname}${clean.search}`);
  }
  return { session: readSession() };
};
