import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import {
  appendScan,
  countScans,
  gateDocName,
  gateDocTypes,
  legacyScanCount,
  observeScans,
  parseGateDocName,
  putTickets,
  readMeta,
  readScanEntries,
  readScans,
  readTicket,
  revoke,
  type ScanBatch,
} from '../src/gate-doc.ts';
import { hubAndGate, scan, ticket } from './fixtures.ts';

describe('gate doc model', () => {
  it('names the doc after the event', () => {
    expect(gateDocName('expo-2026')).toBe('event/expo-2026/gate');
    expect(parseGateDocName('event/expo-2026/gate')).toBe('expo-2026');
    expect(parseGateDocName('event/a/b/gate')).toBeUndefined();
    expect(parseGateDocName('event/expo/qa')).toBeUndefined();
  });

  it('re-importing an unchanged roster writes nothing and grows nothing', () => {
    const { hub } = hubAndGate();
    const size = Y.encodeStateAsUpdate(hub).length;
    expect(putTickets(hub, { 'T-1': ticket(), 'T-2': ticket({ holder: 'Grace Hopper' }) })).toBe(0);
    expect(Y.encodeStateAsUpdate(hub).length).toBe(size);
    expect(putTickets(hub, [['T-3', ticket({ order: 'O-9' })]])).toBe(1);
    expect(readTicket(hub, 'T-3')?.order).toBe('O-9');
  });

  it('writes a roster in one transaction', () => {
    const doc = new Y.Doc();
    gateDocTypes(doc);
    let updates = 0;
    doc.on('update', () => updates++);
    putTickets(doc, Array.from({ length: 50 }, (_, i) => [`C-${i}`, ticket()] as const));
    expect(updates).toBe(1);
    expect(gateDocTypes(doc).tickets.size).toBe(50);
  });

  it('revokes a listed ticket, and stubs an unlisted code so its signed token loses', () => {
    const { hub } = hubAndGate();
    expect(revoke(hub, 'T-1')).toBe(true);
    expect(readTicket(hub, 'T-1')).toMatchObject({ holder: 'Ada Lovelace', status: 'revoked' });
    expect(revoke(hub, 'T-1')).toBe(false);
    expect(revoke(hub, 'BOX-1')).toBe(true);
    expect(readTicket(hub, 'BOX-1')?.status).toBe('revoked');
  });

  it('validates scans on append and skips invalid ones on read', () => {
    const { gate } = hubAndGate();
    expect(() => appendScan(gate, { ...scan(), dir: 'sideways' as 'in' })).toThrow();
    appendScan(gate, scan());
    gateDocTypes(gate).scans.set('scan-bogus-0001', { bogus: true });
    const invalid: unknown[] = [];
    expect(readScans(gate, (v) => invalid.push(v))).toHaveLength(1);
    expect(invalid).toEqual([{ bogus: true }]);
    expect(readMeta(gate)?.gates[0]?.zone).toBe('hall');
  });

  it('observeScans reports only the new scans of each transaction, with their origin and Yjs ids', () => {
    const { gate } = hubAndGate();
    const batches: ScanBatch[] = [];
    const stop = observeScans(gate, (b) => batches.push(b));
    appendScan(gate, scan({ code: 'T-1' }), 'local');
    appendScan(gate, scan({ code: 'T-2' }), 'local');
    putTickets(gate, { 'T-9': ticket() });

    const remote = new Y.Doc();
    Y.applyUpdate(remote, Y.encodeStateAsUpdate(gate));
    appendScan(remote, scan({ code: 'T-9', device: 'dev-b' }));
    appendScan(remote, scan({ code: 'T-9', device: 'dev-b', dir: 'out' }));
    Y.applyUpdate(gate, Y.encodeStateAsUpdate(remote, Y.encodeStateVector(gate)), 'peer');
    stop();
    appendScan(gate, scan());

    expect(batches.map((b) => [b.origin, b.entries.map((e) => e.scan.code)])).toEqual([
      ['local', ['T-1']],
      ['local', ['T-2']],
      ['peer', ['T-9', 'T-9']],
    ]);
    const ids = readScanEntries(gate).map((e) => `${e.client}:${e.clock}`);
    for (const entry of batches.flatMap((b) => b.entries)) expect(ids).toContain(`${entry.client}:${entry.clock}`);
  });

  it('stores a scan under its id, without repeating the id, and never replaces one', () => {
    const { gate } = hubAndGate();
    const record = appendScan(gate, scan({ code: 'T-2' }));
    const { scanId, ...rest } = record;
    expect(gateDocTypes(gate).scans.get(scanId)).toEqual(rest);
    expect(gateDocTypes(gate).scans.has(scanId)).toBe(true);
    expect(readScans(gate)).toEqual([record]);
    expect(() => appendScan(gate, { ...scan(), scanId })).toThrow(/already in the doc/);
    expect(countScans(gate)).toBe(1);
  });

  it('replicas that scanned concurrently converge to the same scans, whatever order updates arrive in', () => {
    const { hub } = hubAndGate();
    const replicas = [0, 1, 2].map(() => {
      const doc = new Y.Doc();
      Y.applyUpdate(doc, Y.encodeStateAsUpdate(hub));
      return doc;
    });
    replicas.forEach((doc, i) => {
      for (let k = 0; k < 50; k++) appendScan(doc, scan({ device: `dev-${i}` }));
    });
    const updates = replicas.map((doc) => Y.encodeStateAsUpdate(doc, Y.encodeStateVector(hub)));
    for (const [i, doc] of replicas.entries()) {
      for (const update of i % 2 === 0 ? updates : [...updates].reverse()) Y.applyUpdate(doc, update);
    }
    const ids = (doc: Y.Doc) => readScans(doc).map((s) => s.scanId).sort();
    expect(ids(replicas[0]!)).toHaveLength(150);
    expect(ids(replicas[1]!)).toEqual(ids(replicas[0]!));
    expect(ids(replicas[2]!)).toEqual(ids(replicas[0]!));
    expect(countScans(replicas[1]!)).toBe(150);
  });

  it('counts scans left in a format 1 doc (a "scans" array), which nothing reads', () => {
    const { gate } = hubAndGate();
    expect(legacyScanCount(gate)).toBe(0);
    const old = new Y.Doc();
    old.getArray('scans').insert(0, [{ ...scan() }, { ...scan() }]);
    Y.applyUpdate(gate, Y.encodeStateAsUpdate(old));
    expect(legacyScanCount(gate)).toBe(2);
    expect(readScans(gate)).toEqual([]);
  });
});
