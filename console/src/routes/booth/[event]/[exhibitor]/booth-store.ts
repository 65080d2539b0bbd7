import type { Lead } from '@opshub/schema';

/** A capture made at the booth, kept on the device until the hub has taken it. */
export interface PendingCapture {
  /** the idempotency key sent as `lead.capture` `clientId`: resending it never makes a second lead or visit */
  readonly clientId: string;
  readonly event: string;
  readonly exhibitor: string;
  /** the badge as scanned or typed */
  readonly code: string;
  readonly rating?: number | undefined;
  readonly notes?: string | undefined;
  readonly tags?: string[] | undefined;
  /** when it was captured on the device (ms) */
  readonly at: number;
  /** set when the hub refused it for good (an unknown badge): shown, not retried */
  readonly refused?: string | undefined;
}

/** The device's copy of a booth's lead list, for a page opened without a network. */
export interface CachedLeads {
  readonly key: string;
  readonly leads: Lead[];
  readonly savedAt: number;
}

const dbName = 'opshub-booth';
const version = 1;

/**
 * The booth app's storage on the phone (IndexedDB): captures not yet taken by the hub, and the last lead list seen.
 * IndexedDB rather than localStorage: it survives a reload and a closed tab, is not capped at a few megabytes, and a
 * write is durable when its transaction completes (the capture is saved before the app says so).
 * @example const store = await BoothStore.open(); await store.putPending(capture);
 */
export class BoothStore {
  private constructor(private readonly db: IDBDatabase) {}

  static open(factory: IDBFactory = indexedDB): Promise<BoothStore> {
    return new Promise((resolve, reject) => {
      const request = factory.open(dbName, version);
      request.onupgradeneeded = () => {
        const db = request.result;
        if (!db.objectStoreNames.contains('pending')) db.createObjectStore('pending', { keyPath: 'clientId' });
        if (!db.objectStoreNames.contains('leads')) db.createObjectStore('leads', { keyPath: 'key' });
      };
      request.onsuccess = () => resolve(new BoothStore(request.result));
      request.onerror = () => reject(request.error ?? new Error('IndexedDB did not open'));
      request.onblocked = () => reject(new Error('IndexedDB is blocked by another tab of an older version: close it'));
    });
  }

  /** This booth's pending captures, oldest first. */
  async pending(event: string, exhibitor: string): Promise<PendingCapture[]> {
    const all = await this.#request<PendingCapture[]>('pending', 'readonly', (s) => s.getAll());
    return all.filter((p) => p.event === event && p.exhibitor === exhibitor).sort((a, b) => a.at - b.at || (a.clientId < b.clientId ? -1 : 1));
  }

  putPending(capture: PendingCapture): Promise<void> {
    return this.#write('pending', (s) => s.put(capture));
  }

  deletePending(clientId: string): Promise<void> {
    return this.#write('pending', (s) => s.delete(clientId));
  }

  async cachedLeads(event: string, exhibitor: string): Promise<CachedLeads | undefined> {
    return this.#request<CachedLeads | undefined>('leads', 'readonly', (s) => s.get(`${event}/${exhibitor}`));
  }

  putLeads(event: string, exhibitor: string, leads: Lead[]): Promise<void> {
    return this.#write('leads', (s) => s.put({ key: `${event}/${exhibitor}`, leads, savedAt: Date.now() } satisfies CachedLeads));
  }

  close(): void {
    this.db.close();
  }

  #request<T>(store: string, mode: IDBTransactionMode, op: (s: IDBObjectStore) => IDBRequest): Promise<T> {
    return new Promise((resolve, reject) => {
      const request = op(this.db.transaction(store, mode).objectStore(store));
      request.onsuccess = () => resolve(request.result as T);
      request.onerror = () => reject(request.error ?? new Error('IndexedDB request failed'));
    });
  }

  /** Resolves when the transaction has committed, not merely when the request succeeded. */
  #write(store: string, op: (s: IDBObjectStore) => IDBRequest): Promise<void> {
    return new Promise((resolve, reject) => {
      const tx = this.db.transaction(store, 'readwrite');
      op(tx.objectStore(store));
      tx.oncomplete = () => resolve();
      tx.onerror = () => reject(tx.error ?? new Error('IndexedDB write failed'));
      tx.onabort = () => reject(tx.error ?? new Error('IndexedDB write aborted'));
    });
  }
}
