import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { checkGateUpdate } from '../src/check-gate-update.ts';
import { appendScan, gateDocTypes, putTickets, readScans, revoke } from '../src/gate-doc.ts';
import { hubAndGate, recordUpdates, scan, ticket } from './fixtures.ts';
import type { ScanRecord, StoredScan } from '../src/gate-doc.ts';

/** A scan as the doc stores it: without its id, which is the key. */
function stored({ scanId: _id, ...rest }: ScanRecord): StoredScan {
  return rest;
}

describe('checkGateUpdate', () => {
  it('accepts a gate appending scans, one by one or as an offline chain', () => {
    const { hub, gate } = hubAndGate();
    const updates = recordUpdates(gate);
    appendScan(gate, scan({ code: 'T-1' }));
    expect(checkGateUpdate(hub, updates[0]!)).toMatchObject({ ok: true, scans: [{ code: 'T-1' }] });

    // Offline: three scans, then one sync step 2 against the hub's state vector.
    appendScan(gate, scan({ code: 'T-2' }));
    appendScan(gate, scan({ code: 'T-2', dir: 'out' }));
    const step2 = Y.encodeStateAsUpdate(gate, Y.encodeStateVector(hub));
    const check = checkGateUpdate(hub, step2);
    expect(check).toMatchObject({ ok: true });
    expect(check.ok && check.scans.map((s) => s.code)).toEqual(['T-1', 'T-2', 'T-2']);
    Y.applyUpdate(hub, step2);
    expect(readScans(hub)).toHaveLength(3);
    // Already known: passes and adds nothing.
    expect(checkGateUpdate(hub, updates[0]!)).toEqual({ ok: true, scans: [] });
  });

  it("accepts a gate's full sync step 2 after the hub replaced and revoked roster entries", () => {
    const { hub, gate } = hubAndGate();
    putTickets(hub, { 'T-1': ticket({ type: 'day' }) });
    revoke(hub, 'T-2');
    Y.applyUpdate(gate, Y.encodeStateAsUpdate(hub, Y.encodeStateVector(gate)));
    appendScan(gate, scan());
    // The step 2 carries the gate's whole delete set, including the replaced roster entries.
    const step2 = Y.encodeStateAsUpdate(gate, Y.encodeStateVector(hub));
    expect(Y.decodeUpdate(step2).ds.clients.size).toBeGreaterThan(0);
    expect(checkGateUpdate(hub, step2)).toMatchObject({ ok: true, scans: [{ code: 'T-1' }] });
  });

  it('accepts scans relayed from another gate, and roster entries the hub already has', () => {
    const { hub, gate } = hubAndGate();
    const other = new Y.Doc();
    Y.applyUpdate(other, Y.encodeStateAsUpdate(gate));
    appendScan(other, scan({ device: 'dev-b' }));
    Y.applyUpdate(gate, Y.encodeStateAsUpdate(other));
    expect(checkGateUpdate(hub, Y.encodeStateAsUpdate(gate))).toMatchObject({ ok: true, scans: [{ device: 'dev-b' }] });
  });

  it.each([
    ['sets a roster entry', (d: Y.Doc) => putTickets(d, { 'T-1': ticket({ type: 'free' }) })],
    ['adds a roster entry', (d: Y.Doc) => putTickets(d, { 'FAKE-1': ticket() })],
    ['revokes', (d: Y.Doc) => revoke(d, 'T-2')],
    ['edits meta', (d: Y.Doc) => gateDocTypes(d).meta.set('name', 'Mine')],
    ['writes another root type', (d: Y.Doc) => d.getText('notes').insert(0, 'hi')],
    ['puts a nested type into scans', (d: Y.Doc) => gateDocTypes(d).scans.set('scan-nested-0001', new Y.Map())],
    ['puts binary content into scans', (d: Y.Doc) => gateDocTypes(d).scans.set('scan-binary-0001', new Uint8Array([1, 2]))],
  ])('rejects an update that %s as forbidden', (_name, write) => {
    const { hub, gate } = hubAndGate();
    const updates = recordUpdates(gate);
    write(gate);
    expect(updates).toHaveLength(1);
    expect(checkGateUpdate(hub, updates[0]!)).toMatchObject({ ok: false, reason: 'forbidden' });
  });

  it('rejects a gate deleting or replacing a scan as forbidden', () => {
    const { hub, gate } = hubAndGate();
    const first = appendScan(gate, scan());
    Y.applyUpdate(hub, Y.encodeStateAsUpdate(gate));
    const updates = recordUpdates(gate);
    gateDocTypes(gate).scans.delete(first.scanId);
    expect(checkGateUpdate(hub, updates[0]!)).toMatchObject({ ok: false, reason: 'forbidden' });

    const { hub: hub2, gate: gate2 } = hubAndGate();
    const { scanId, ...stored } = appendScan(gate2, scan());
    Y.applyUpdate(hub2, Y.encodeStateAsUpdate(gate2));
    const replaced = recordUpdates(gate2);
    gateDocTypes(gate2).scans.set(scanId, { ...stored, verdict: 'invalid' });
    expect(checkGateUpdate(hub2, replaced[0]!)).toMatchObject({ ok: false, reason: 'forbidden' });
  });

  it.each([
    ['breaks the schema', { ...stored(scan()), verdict: 'vip' }],
    ['repeats its id inside the value', scan()],
    ['is not an object', 'admitted'],
  ])('rejects a scan value that %s as invalid_scan', (_name, value) => {
    const { hub, gate } = hubAndGate();
    const updates = recordUpdates(gate);
    gateDocTypes(gate).scans.set('scan-bad-value-0001', value);
    expect(checkGateUpdate(hub, updates[0]!)).toMatchObject({ ok: false, reason: 'invalid_scan' });
  });

  it('rejects a scan id that is not a valid id as invalid_scan', () => {
    const { hub, gate } = hubAndGate();
    const updates = recordUpdates(gate);
    gateDocTypes(gate).scans.set('no spaces allowed', stored(scan()));
    expect(checkGateUpdate(hub, updates[0]!)).toMatchObject({ ok: false, reason: 'invalid_scan' });
  });

  it('rejects a scan id the hub already holds, or one used twice in an update, as invalid_scan', () => {
    const { hub, gate } = hubAndGate();
    const other = new Y.Doc();
    Y.applyUpdate(other, Y.encodeStateAsUpdate(hub)); // the roster, not the scan below
    const first = appendScan(gate, scan());
    Y.applyUpdate(hub, Y.encodeStateAsUpdate(gate, Y.encodeStateVector(hub)));
    // A gate that never saw the first scan reuses its id: a new key for that gate, a reused one for the hub.
    const reuse = recordUpdates(other);
    appendScan(other, { ...scan(), scanId: first.scanId });
    expect(checkGateUpdate(hub, reuse[0]!)).toMatchObject({ ok: false, reason: 'invalid_scan', message: expect.stringContaining('used twice') });

    // Two devices, offline, pick the same id, and one update carries both (merged, not integrated: no winner yet).
    const { hub: hub2, gate: a } = hubAndGate();
    const b = new Y.Doc();
    Y.applyUpdate(b, Y.encodeStateAsUpdate(a));
    const [fromA, fromB] = [recordUpdates(a), recordUpdates(b)];
    const twice = scan();
    appendScan(a, twice);
    appendScan(b, { ...twice, device: 'dev-b' });
    expect(checkGateUpdate(hub2, Y.mergeUpdates([fromA[0]!, fromB[0]!]))).toMatchObject({ ok: false, reason: 'invalid_scan', message: expect.stringContaining('used twice') });

    // Once a replica integrated both, Yjs kept one and deleted the other: that deletion is refused too.
    Y.applyUpdate(a, fromB[0]!);
    expect(checkGateUpdate(hub2, Y.encodeStateAsUpdate(a, Y.encodeStateVector(hub2)))).toMatchObject({ ok: false, reason: 'forbidden' });
  });

  it('rejects an update whose neighbours the hub does not have as unresolved (never left pending)', () => {
    const { hub, gate } = hubAndGate();
    putTickets(gate, { 'LOCAL-1': ticket() });
    const updates = recordUpdates(gate);
    putTickets(gate, { 'LOCAL-1': ticket({ type: 'free' }) }); // its neighbour is the first entry, which the hub has not seen
    expect(checkGateUpdate(hub, updates[0]!)).toMatchObject({ ok: false, reason: 'unresolved' });
  });

  it('rejects bytes that are not an update as malformed', () => {
    const { hub } = hubAndGate();
    expect(checkGateUpdate(hub, new Uint8Array([5, 200, 1]))).toMatchObject({ ok: false, reason: 'malformed' });
  });

  it('handles a long offline chain of scans from several devices without deep recursion', () => {
    const { hub, gate } = hubAndGate();
    const other = new Y.Doc();
    Y.applyUpdate(other, Y.encodeStateAsUpdate(gate));
    for (let i = 0; i < 20_000; i++) {
      const doc = i % 2 === 0 ? gate : other;
      appendScan(doc, scan({ device: i % 2 === 0 ? 'dev-a' : 'dev-b' }));
      // Interleave the two devices so the chain keeps switching clients.
      if (i % 100 === 99) {
        Y.applyUpdate(gate, Y.encodeStateAsUpdate(other, Y.encodeStateVector(gate)));
        Y.applyUpdate(other, Y.encodeStateAsUpdate(gate, Y.encodeStateVector(other)));
      }
    }
    const check = checkGateUpdate(hub, Y.encodeStateAsUpdate(gate, Y.encodeStateVector(hub)));
    expect(check.ok && check.scans.length).toBe(20_000);
  });

  describe("from: 'peer' (an agent checking another agent)", () => {
    it('lets roster and meta relays through, including replaced entries', () => {
      const { hub, gate } = hubAndGate();
      const agent = new Y.Doc();
      putTickets(hub, { 'T-1': ticket({ type: 'day' }) });
      revoke(hub, 'T-2');
      Y.applyUpdate(gate, Y.encodeStateAsUpdate(hub));
      appendScan(gate, scan());
      expect(checkGateUpdate(agent, Y.encodeStateAsUpdate(gate), { from: 'peer' })).toMatchObject({ ok: true, scans: [{ code: 'T-1' }] });
      expect(checkGateUpdate(agent, Y.encodeStateAsUpdate(gate))).toMatchObject({ ok: false, reason: 'forbidden' });
    });

    it('still refuses invalid scan records and deleted scans', () => {
      const { gate } = hubAndGate();
      const peer = new Y.Doc();
      Y.applyUpdate(peer, Y.encodeStateAsUpdate(gate));
      const updates = recordUpdates(peer);
      gateDocTypes(peer).scans.set('scan-from-peer-01', { code: 'T-1' });
      expect(checkGateUpdate(gate, updates[0]!, { from: 'peer' })).toMatchObject({ ok: false, reason: 'invalid_scan' });

      const { scanId } = appendScan(gate, scan());
      const synced = new Y.Doc();
      Y.applyUpdate(synced, Y.encodeStateAsUpdate(gate));
      const deletes = recordUpdates(synced);
      gateDocTypes(synced).scans.delete(scanId);
      expect(checkGateUpdate(gate, deletes[0]!, { from: 'peer' })).toMatchObject({ ok: false, reason: 'forbidden' });
    });
  });
});
