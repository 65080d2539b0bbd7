import { ApiError } from '@opshub/schema';
import type { z } from 'zod';
import { HubApiError } from '$lib/api/hub-api.ts';

/**
 * Sends a JSON body to the hub with the session's token and validates the answer; a refusal becomes a
 * {@link HubApiError} carrying the hub's words (a decline, a missing Stripe key), which the page shows as they are.
 * @example const sale = await sendJson('POST', '/api/v1/events/expo/box-office/sales', token, body, CreateSaleResult);
 */
export async function sendJson<T>(method: 'POST' | 'PUT', path: string, token: string, body: unknown, schema: z.ZodType<T>): Promise<T> {
  let response: Response;
  try {
    response = await fetch(path, { method, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', accept: 'application/json' }, body: JSON.stringify(body) });
  } catch (error) {
    throw new HubApiError(0, 'unavailable', `the hub cannot be reached (${error instanceof Error ? error.message : String(error)})`);
  }
  const answer: unknown = await response.json().catch(() => undefined);
  if (!response.ok) {
    const parsed = ApiError.safeParse(answer);
    throw new HubApiError(response.status, parsed.success ? parsed.data.error : 'internal', parsed.success ? parsed.data.message : `HTTP ${response.status}`);
  }
  const parsed = schema.safeParse(answer);
  if (!parsed.success) throw new HubApiError(response.status, 'invalid', `unexpected answer from ${path}`);
  return parsed.data;
}

/** What went wrong, in the words to show. */
export function problem(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
