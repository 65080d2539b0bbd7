import { ApiError as ApiErrorBody } from '@opshub/schema';
import { z } from 'zod';

/** A REST call the hub answered with an error status (`{"error","message"}`), or that never reached it. */
export class HubApiError extends Error {
  override readonly name = 'HubApiError';
  constructor(
    /** HTTP status; 0 when the hub could not be reached */
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

type Fetch = typeof fetch;

/**
 * GETs `path` from the hub with the session's token and validates the answer.
 * @example const event = await getJson(fetch, '/api/v1/events/expo', token, EventDetails);
 * @throws {HubApiError} on an error status, an unreachable hub or an answer that does not match `schema`
 */
export async function getJson<T>(fetchFn: Fetch, path: string, token: string, schema: z.ZodType<T>): Promise<T> {
  let response: Response;
  try {
    response = await fetchFn(path, { headers: { authorization: `Bearer ${token}`, accept: 'application/json' } });
  } catch (error) {
    throw new HubApiError(0, 'unavailable', `the hub cannot be reached (${error instanceof Error ? error.message : String(error)})`);
  }
  const body: unknown = await response.json().catch(() => undefined);
  if (!response.ok) {
    const parsed = ApiErrorBody.safeParse(body);
    throw new HubApiError(response.status, parsed.success ? parsed.data.error : 'internal', parsed.success ? parsed.data.message : `HTTP ${response.status}`);
  }
  const parsed = schema.safeParse(body);
  if (!parsed.success) throw new HubApiError(response.status, 'invalid', `unexpected answer from ${path}: ${z.prettifyError(parsed.error)}`);
  return parsed.data;
}

/**
 * Sends a request with a JSON body (or none) with the session's token and validates the answer; a refusal becomes a
 * {@link HubApiError} carrying the hub's words (`zone "vip" cannot be removed: 3 scans …`), which pages show as they are.
 * @example const event = await sendJson(fetch, 'PATCH', '/api/v1/events/expo', token, { name: 'Expo' }, EventDetails);
 */
export async function sendJson<T>(
  fetchFn: Fetch,
  method: 'POST' | 'PUT' | 'PATCH' | 'DELETE',
  path: string,
  token: string,
  body: unknown,
  schema: z.ZodType<T>,
): Promise<T> {
  const headers: Record<string, string> = { authorization: `Bearer ${token}`, accept: 'application/json' };
  if (body !== undefined) headers['content-type'] = 'application/json';
  return answerOf(path, await reach(() => fetchFn(path, { method, headers, body: body === undefined ? null : JSON.stringify(body) })), schema);
}

/** POSTs text (a CSV chunk) with its content type and validates the answer, as {@link sendJson} does. */
export async function sendText<T>(fetchFn: Fetch, path: string, token: string, contentType: string, text: string, schema: z.ZodType<T>): Promise<T> {
  const headers = { authorization: `Bearer ${token}`, accept: 'application/json', 'content-type': contentType };
  return answerOf(path, await reach(() => fetchFn(path, { method: 'POST', headers, body: text })), schema);
}

async function reach(call: () => Promise<Response>): Promise<Response> {
  try {
    return await call();
  } catch (error) {
    throw new HubApiError(0, 'unavailable', `the hub cannot be reached (${error instanceof Error ? error.message : String(error)})`);
  }
}

async function answerOf<T>(path: string, response: Response, schema: z.ZodType<T>): Promise<T> {
  const body: unknown = await response.json().catch(() => undefined);
  if (!response.ok) {
    const parsed = ApiErrorBody.safeParse(body);
    throw new HubApiError(response.status, parsed.success ? parsed.data.error : 'internal', parsed.success ? parsed.data.message : `HTTP ${response.status}`);
  }
  const parsed = schema.safeParse(body);
  if (!parsed.success) throw new HubApiError(response.status, 'invalid', `unexpected answer from ${path}: ${z.prettifyError(parsed.error)}`);
  return parsed.data;
}

/** What went wrong, in the words to show. */
export function problemText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
