import * as Y from 'yjs';
import { putTickets, writeMeta, type ScanRecord, type Ticket } from '../src/gate-doc.ts';

export const ticket = (over: Partial<Ticket> = {}): Ticket => ({ holder: 'Ada Lovelace', email: 'ada@example.org', type: 'vip', zones: [], status: 'valid', ...over });

let counter = 0;
/** A valid scan record; `at` defaults to a fixed base so tests are deterministic. */
export function scan(over: Partial<ScanRecord> = {}): ScanRecord {
  counter++;
  return { scanId: `scan-${String(counter).padStart(6, '0')}`, code: 'T-1', gate: 'north', device: 'dev-a', dir: 'in', at: 1_000_000 + counter, verdict: 'admitted', ...over };
}

/** A hub-side doc with meta and a small roster, and a gate replica synced from it. */
export function hubAndGate(): { hub: Y.Doc; gate: Y.Doc } {
  const hub = new Y.Doc();
  writeMeta(hub, {
    event: 'expo',
    name: 'Expo',
    timezone: 'UTC',
    zones: [{ id: 'hall', name: 'Hall', capacity: 100 }],
    gates: [{ id: 'north', name: 'North', zone: 'hall' }],
  });
  putTickets(hub, { 'T-1': ticket(), 'T-2': ticket({ holder: 'Grace Hopper' }) });
  const gate = new Y.Doc();
  Y.applyUpdate(gate, Y.encodeStateAsUpdate(hub));
  return { hub, gate };
}

/** Records the updates a doc emits, like a socket that relays them. */
export function recordUpdates(doc: Y.Doc): Uint8Array[] {
  const updates: Uint8Array[] = [];
  doc.on('update', (update: Uint8Array) => updates.push(update));
  return updates;
}
