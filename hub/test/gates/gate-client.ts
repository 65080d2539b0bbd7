import { randomUUID } from 'node:crypto';
import WebSocket from 'ws';
import * as Y from 'yjs';
import { WebsocketProvider } from 'y-websocket';
import { appendScan, gateDocTypes, type ScanRecord } from '@opshub/replica';

/**
 * An unmodified y-websocket provider (with the `ws` polyfill) standing in for a gate or a reader of a gate doc.
 * @example const gate = await GateClient.connect(hub.port, 'expo', token); gate.scan({ code: 'T1', gate: 'north' });
 */
export class GateClient {
  readonly doc = new Y.Doc();
  readonly provider: WebsocketProvider;
  readonly closes: number[] = [];

  private constructor(port: number, event: string, token: string, readonly device: string) {
    this.provider = new WebsocketProvider(`ws://127.0.0.1:${port}/yjs`, `event/${event}/gate`, this.doc, {
      WebSocketPolyfill: WebSocket as never,
      params: { token },
      disableBc: true,
      maxBackoffTime: 200,
    });
    this.provider.on('connection-close', (event: { code: number } | null) => {
      if (event) this.closes.push(event.code);
    });
  }

  static async connect(port: number, event: string, token: string, device = `dev-${randomUUID().slice(0, 8)}`): Promise<GateClient> {
    const client = new GateClient(port, event, token, device);
    await client.synced();
    return client;
  }

  /** Connects without waiting for a sync (for sockets the hub is expected to refuse). */
  static open(port: number, event: string, token: string): GateClient {
    return new GateClient(port, event, token, 'refused');
  }

  synced(timeoutMs = 10_000): Promise<void> {
    if (this.provider.synced) return Promise.resolve();
    return within(timeoutMs, 'sync', (done) => this.provider.once('sync', (ok: boolean) => ok && done()));
  }

  /** The next close code the hub sends this provider. */
  nextClose(timeoutMs = 5000): Promise<number> {
    const seen = this.closes.length;
    return within(timeoutMs, 'close', (done) => {
      const check = () => (this.closes.length > seen ? done(this.closes[seen]!) : setTimeout(check, 10));
      check();
    });
  }

  scan(partial: Partial<ScanRecord> & Pick<ScanRecord, 'code' | 'gate'>): ScanRecord {
    return appendScan(this.doc, { scanId: randomUUID(), device: this.device, dir: 'in', at: Date.now(), verdict: 'admitted', ...partial }, 'local');
  }

  /** Resolves once `predicate` holds on the doc, re-checked after every change. */
  until(predicate: (doc: Y.Doc) => boolean, timeoutMs = 5000): Promise<void> {
    return within(timeoutMs, 'doc condition', (done) => {
      const check = () => {
        if (!predicate(this.doc)) return;
        this.doc.off('update', check);
        done();
      };
      this.doc.on('update', check);
      check();
    });
  }

  tickets(): Y.Map<unknown> {
    return gateDocTypes(this.doc).tickets as Y.Map<unknown>;
  }

  close(): void {
    this.provider.destroy();
    this.doc.destroy();
  }
}

function within<T = void>(timeoutMs: number, what: string, start: (done: (value: T) => void) => void): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${what} within ${timeoutMs} ms`)), timeoutMs);
    start((value) => {
      clearTimeout(timer);
      resolve(value);
    });
  });
}
