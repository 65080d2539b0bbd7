// The worker side of off-thread-merge.ts: merges Yjs updates (a compaction of a doc's log) away from the hub's event
// loop. Plain JavaScript so it runs in a worker thread whatever loader the hub itself was started with.
import { parentPort } from 'node:worker_threads';
import * as Y from 'yjs';

parentPort.on('message', ({ id, parts }) => {
  try {
    const merged = Y.mergeUpdates(parts);
    parentPort.postMessage({ id, merged }, [merged.buffer]);
  } catch (error) {
    parentPort.postMessage({ id, error: error instanceof Error ? error.message : String(error) });
  }
});
