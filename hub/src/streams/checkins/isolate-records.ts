/**
 * Runs `attempt` on a batch; when it fails because the Store refused a record, finds the record by halving the batch
 * and hands it to `setAside`, committing everything else. With k bad records among n that costs about 2k·log2(n)
 * attempts, and none when nothing is wrong. Any other failure (the Store or bus unreachable) propagates, so the caller
 * retries the batch later; parts that committed meanwhile are idempotent (check-in rows and alerts are keyed).
 *
 * Why: one record the Store refuses (a timestamp past year 9999 did, before the schema bounded it) used to fail its
 * whole transaction on every retry, and with it every later scan of the event, across restarts.
 *
 * @example await isolateRecords(scans, (part) => derive(part), (scan, err) => setAside(scan, err), isRecordError);
 */
export async function isolateRecords<T>(
  items: readonly T[],
  attempt: (part: readonly T[]) => Promise<void>,
  setAside: (item: T, error: unknown) => Promise<void>,
  isRecordError: (error: unknown) => boolean,
): Promise<void> {
  try {
    await attempt(items);
  } catch (error) {
    if (!isRecordError(error)) throw error;
    if (items.length === 1) return setAside(items[0]!, error);
    if (items.length === 0) throw error;
    const half = Math.ceil(items.length / 2);
    await isolateRecords(items.slice(0, half), attempt, setAside, isRecordError);
    await isolateRecords(items.slice(half), attempt, setAside, isRecordError);
  }
}
