import { Worker } from 'node:worker_threads';
import * as Y from 'yjs';

/**
 * Merges Yjs updates in a worker thread. Why: compacting a gate doc's log merges its whole state (a roster of 100,000
 * tickets is ~10 MB), which on the hub's thread held every socket for as long as it took (issue #11). The worker is
 * started on first use and unreferenced, so it never keeps a process alive; if it cannot run, the merge happens here.
 * @example const merger = new OffThreadMerge(); const state = await merger.merge([snapshot, ...updates]); await merger.close();
 */
export class OffThreadMerge {
  #worker: Worker | undefined;
  #nextId = 1;
  readonly #waiting = new Map<number, { resolve: (merged: Uint8Array) => void; reject: (error: Error) => void }>();
  #broken = false;

  /** The merge of `parts`, as `Y.mergeUpdates(parts)` would answer it. */
  merge(parts: readonly Uint8Array[]): Promise<Uint8Array> {
    if (parts.length === 1) return Promise.resolve(parts[0]!);
    const worker = this.#start();
    if (!worker) return Promise.resolve(Y.mergeUpdates(parts as Uint8Array[]));
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      this.#waiting.set(id, { resolve, reject });
      worker.ref();
      worker.postMessage({ id, parts });
    });
  }

  async close(): Promise<void> {
    const worker = this.#worker;
    this.#worker = undefined;
    this.#broken = true;
    this.#fail(new Error('merge worker closed'));
    await worker?.terminate();
  }

  #start(): Worker | undefined {
    if (this.#worker || this.#broken) return this.#worker;
    try {
      const worker = new Worker(new URL('./merge-worker.mjs', import.meta.url), { execArgv: [] });
      worker.unref();
      worker.on('message', ({ id, merged, error }: { id: number; merged?: Uint8Array; error?: string }) => {
        const waiter = this.#waiting.get(id);
        this.#waiting.delete(id);
        if (this.#waiting.size === 0) worker.unref();
        if (!waiter) return;
        if (merged) waiter.resolve(merged);
        else waiter.reject(new Error(`merging updates failed: ${error}`));
      });
      worker.on('exit', () => {
        if (this.#worker !== worker) return;
        this.#broken = true;
        this.#worker = undefined;
        this.#fail(new Error('merge worker exited'));
      });
      worker.on('error', (error) => {
        // Merges in flight fail (a compaction is simply tried again later); later ones run on this thread.
        this.#broken = true;
        this.#worker = undefined;
        this.#fail(error);
      });
      this.#worker = worker;
      return worker;
    } catch {
      this.#broken = true;
      return undefined;
    }
  }

  #fail(error: Error): void {
    for (const waiter of this.#waiting.values()) waiter.reject(error);
    this.#waiting.clear();
  }
}
