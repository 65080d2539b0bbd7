import { HubApiError } from '$lib/api/hub-api.ts';

/**
 * Downloads a booth's leads as CSV. The export is fetched with the token in the `Authorization` header and handed to
 * the browser as a file: a plain link would need the token in its URL, where history and logs would keep it.
 * @example await downloadLeadsCsv(fetch, token, 'expo', 'x1');
 * @throws {HubApiError} when the hub refuses (e.g. 403 for another sponsor's booth)
 */
export async function downloadLeadsCsv(fetchFn: typeof fetch, token: string, event: string, exhibitor: string): Promise<void> {
  const response = await fetchFn(`/api/v1/events/${encodeURIComponent(event)}/exhibitors/${encodeURIComponent(exhibitor)}/leads.csv`, {
    headers: { authorization: `Bearer ${token}`, accept: 'text/csv' },
  });
  if (!response.ok) {
    const body = (await response.json().catch(() => ({}))) as { error?: string; message?: string };
    throw new HubApiError(response.status, body.error ?? 'internal', body.message ?? `HTTP ${response.status}`);
  }
  const url = URL.createObjectURL(await response.blob());
  try {
    const link = document.createElement('a');
    link.href = url;
    link.download = `leads-${event}-${exhibitor}.csv`;
    document.body.append(link);
    link.click();
    link.remove();
  } finally {
    // The click has handed the blob to the download manager; the URL is not needed after this turn.
    setTimeout(() => URL.revokeObjectURL(url), 0);
  }
}
