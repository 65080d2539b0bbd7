/**
 * The model of the Yjs doc `event/{e}/gate`: what lives in it, who writes what, and the helpers that read and write it.
 *
 * - `meta` (Y.Map): event id, name, timezone, zones, gates, the event's Ed25519 public key. Written by the hub.
 * - `tickets` (Y.Map): code → plain immutable {@link Ticket}. Written by the hub, replaced whole on change (rare).
 * - `scansById` (Y.Map): scan id → the rest of an immutable {@link ScanRecord} ({@link StoredScan}), added by gates,
 *   never edited or removed. A map, not an array: scans are a bag (order comes from `at`, then `scanId`), and
 *   concurrent inserts of distinct keys merge in time proportional to the update, while concurrent inserts into one
 *   spot of a Y.Array cost Yjs O(n·m) to order (2 s for 2,000 offline scans against 5,000 online ones). The id is
 *   the key, not repeated in the value, which keeps a scan as small as it was in the array.
 *
 * "Checked in" is never stored: it is derived from the scans (see `timeline.ts`). Flipping a flag would grow the doc
 * with tombstones and resolve concurrent gates by client id instead of by time.
 */
import * as Y from 'yjs';
import { z } from 'zod';
import { Id } from '@opshub/schema';

/** Root type names inside the doc. */
export const GateDocKeys = { meta: 'meta', tickets: 'tickets', scans: 'scansById' } as const;

/**
 * The root name of format 1's scans (a Y.Array of whole records, until 2026-11). Nothing reads it any more; a doc that
 * still holds some is reported by {@link legacyScanCount} instead of silently hiding them.
 */
const LEGACY_SCANS = 'scans';

export const Direction = z.enum(['in', 'out']);
export type Direction = z.infer<typeof Direction>;

/** `zone_full` and `gate_closed` (issue #12): refused at the door by the control room's directives. */
export const Verdict = z.enum(['admitted', 'already_in', 'invalid', 'revoked', 'wrong_zone', 'zone_full', 'gate_closed']);
export type Verdict = z.infer<typeof Verdict>;

/** A ticket code as printed in a barcode (or the signed token's `code` claim): printable, no control characters. */
export const TicketCode = z
  .string()
  .min(1)
  .max(512)
  .regex(/^[^\p{Cc}]+$/u, 'no control characters');

/** A scan id: unique per scan, chosen by the gate (a UUID in the edge agent). */
export const ScanId = z
  .string()
  .min(8)
  .max(64)
  .regex(/^[A-Za-z0-9_.:-]+$/, 'letters, digits and _ . : - only');

/**
 * The latest `at` a scan may carry: the last millisecond of year 9999. PostgreSQL (and PGlite) refuse timestamps past
 * it, so a record beyond would pass here and then fail the check-in transaction; the hub narrows this further to a
 * window around its own clock (see the hub's scan screen).
 */
export const MAX_SCAN_AT = Date.UTC(9999, 11, 31, 23, 59, 59, 999);

/**
 * One scan, as appended by a gate. Immutable: later facts are new scans.
 * @example { scanId: '0f9c…', code: 'T-1001', gate: 'north', device: 'north-a1b2', dir: 'in', at: 1767261600000, verdict: 'admitted' }
 */
export const ScanRecord = z.strictObject({
  scanId: ScanId,
  code: TicketCode,
  gate: Id,
  device: Id,
  dir: Direction,
  /** Milliseconds since the epoch on the scanning device's clock. */
  at: z.number().int().min(0).max(MAX_SCAN_AT),
  verdict: Verdict,
  /** Admitted on a deliberate override at the gate screen, past a `zone_full` or `gate_closed` (issue #12). */
  override: z.literal(true).optional(),
  /**
   * HMAC-SHA256 (base64url) of the other fields with the recording gate's scan key (see `mesh-auth.ts`), so the hub
   * can tell a scan relayed from that gate from one forged in its name. Optional: a gate that was never paired
   * writes none, and the hub then takes the scan only from that gate's own socket.
   */
  mac: z
    .string()
    .regex(/^[A-Za-z0-9_-]{43}$/)
    .optional(),
});
export type ScanRecord = z.infer<typeof ScanRecord>;

/** A scan as stored in `scansById`: the record without its id, which is the key. */
export type StoredScan = Omit<ScanRecord, 'scanId'>;

/** One roster entry, keyed by its code in the `tickets` map. An empty `zones` list admits to every zone. */
export const Ticket = z.strictObject({
  holder: z.string().max(200),
  email: z.string().max(320),
  type: z.string().max(64),
  zones: z.array(Id).max(100),
  status: z.enum(['valid', 'revoked']),
  order: z.string().max(100).optional(),
});
export type Ticket = z.infer<typeof Ticket>;

/** The event's Ed25519 public key as a JWK (`kty: OKP`, `crv: Ed25519`). */
export const Ed25519PublicJwk = z.object({
  kty: z.literal('OKP'),
  crv: z.literal('Ed25519'),
  x: z.string().regex(/^[A-Za-z0-9_-]{43}$/, 'a 32-byte base64url key'),
  kid: z.string().max(200).optional(),
});
export type Ed25519PublicJwk = z.infer<typeof Ed25519PublicJwk>;

export const ZoneInfo = z.object({ id: Id, name: z.string().max(200), capacity: z.number().int().min(0) });
export const GateInfo = z.object({ id: Id, name: z.string().max(200), zone: Id });
export type ZoneInfo = z.infer<typeof ZoneInfo>;
export type GateInfo = z.infer<typeof GateInfo>;

/** The `meta` map, read as one object. */
export const EventMeta = z.object({
  event: Id,
  name: z.string().max(200),
  timezone: z.string().max(64),
  zones: z.array(ZoneInfo).max(500),
  gates: z.array(GateInfo).max(500),
  publicKey: Ed25519PublicJwk.optional(),
});
export type EventMeta = z.infer<typeof EventMeta>;

/** A scan as it sits in the doc, with the Yjs id of its map entry (who inserted it, at which clock). */
export interface ScanEntry {
  scan: ScanRecord;
  client: number;
  clock: number;
}

/**
 * The doc name for an event's gates.
 * @example gateDocName('expo-2026') // 'event/expo-2026/gate'
 */
export function gateDocName(event: string): string {
  return `event/${event}/gate`;
}

/**
 * The event id in a gate doc name, or undefined when the name is not one.
 * @example parseGateDocName('event/expo-2026/gate') // 'expo-2026'
 */
export function parseGateDocName(name: string): string | undefined {
  const match = /^event\/([^/]+)\/gate$/.exec(name);
  return match && Id.safeParse(match[1]).success ? match[1] : undefined;
}

/**
 * The three root types of a gate doc. Defining them up front matters: a root type is typed by its first `get`.
 * @example const { tickets, scans } = gateDocTypes(doc);
 */
export function gateDocTypes(doc: Y.Doc): { meta: Y.Map<unknown>; tickets: Y.Map<Ticket>; scans: Y.Map<unknown> } {
  return {
    meta: doc.getMap<unknown>(GateDocKeys.meta),
    tickets: doc.getMap<Ticket>(GateDocKeys.tickets),
    // Values typed unknown: a doc can come from an untrusted peer; read them through parseStoredScan.
    scans: doc.getMap<unknown>(GateDocKeys.scans),
  };
}

/**
 * Writes the event's meta (hub only). Keys whose value did not change are left alone, so re-publishing is free.
 * @example writeMeta(doc, { event: 'expo', name: 'Expo', timezone: 'Europe/Berlin', zones, gates, publicKey });
 */
export function writeMeta(doc: Y.Doc, meta: EventMeta, origin: unknown = null): void {
  const parsed = EventMeta.parse(meta);
  const { meta: map } = gateDocTypes(doc);
  doc.transact(() => {
    for (const [key, value] of Object.entries(parsed)) {
      if (value !== undefined && !sameJson(map.get(key), value)) map.set(key, value);
    }
  }, origin);
}

/**
 * The event's meta, or undefined while the doc has not received it (or it does not validate).
 * @example const zone = readMeta(doc)?.gates.find((g) => g.id === 'north')?.zone;
 */
export function readMeta(doc: Y.Doc): EventMeta | undefined {
  const parsed = EventMeta.safeParse(gateDocTypes(doc).meta.toJSON());
  return parsed.success ? parsed.data : undefined;
}

/**
 * The roster entry for `code`, or undefined when absent or not a valid ticket (a doc may come from an untrusted peer).
 * @example const ticket = readTicket(doc, 'T-1001');
 */
export function readTicket(doc: Y.Doc, code: string): Ticket | undefined {
  const value = gateDocTypes(doc).tickets.get(code);
  if (value === undefined) return undefined;
  const parsed = Ticket.safeParse(value);
  return parsed.success ? parsed.data : undefined;
}

/**
 * Puts tickets into the roster in one transaction (hub only). A ticket equal to the stored one is skipped, so
 * re-importing a roster adds no tombstones. Returns how many entries were written.
 * @example putTickets(doc, { 'T-1': { holder: 'Ada', email: 'ada@example.org', type: 'vip', zones: [], status: 'valid' } });
 */
export function putTickets(
  doc: Y.Doc,
  tickets: Iterable<readonly [string, Ticket]> | Record<string, Ticket>,
  origin: unknown = null,
): number {
  const entries = Symbol.iterator in tickets ? tickets : Object.entries(tickets);
  const { tickets: map } = gateDocTypes(doc);
  let written = 0;
  doc.transact(() => {
    for (const [code, ticket] of entries as Iterable<readonly [string, Ticket]>) {
      TicketCode.parse(code);
      const value = Ticket.parse(ticket);
      if (sameJson(map.get(code), value)) continue;
      map.set(code, value);
      written++;
    }
  }, origin);
  return written;
}

/**
 * Marks a ticket revoked (hub only). A code missing from the roster gets a revoked stub, so that a signed ticket token
 * for it stops verifying into an admission. Returns false when it was already revoked.
 * @example revoke(doc, 'T-1001');
 */
export function revoke(doc: Y.Doc, code: string, origin: unknown = null): boolean {
  const current = readTicket(doc, code);
  if (current?.status === 'revoked') return false;
  const ticket: Ticket = current ? { ...current, status: 'revoked' } : { holder: '', email: '', type: '', zones: [], status: 'revoked' };
  return putTickets(doc, [[code, ticket]], origin) > 0;
}

/**
 * Adds one scan (gates only), after validating it. Returns the record as stored. A scan id already in the doc is
 * refused: a record is never replaced.
 * @example appendScan(doc, { scanId: randomUUID(), code, gate: 'north', device, dir: 'in', at: Date.now(), verdict: 'admitted' }, LOCAL);
 */
export function appendScan(doc: Y.Doc, scan: ScanRecord, origin: unknown = null): ScanRecord {
  const record = ScanRecord.parse(scan);
  const { scans } = gateDocTypes(doc);
  if (scans.has(record.scanId)) throw new Error(`scan id ${record.scanId} is already in the doc`);
  const { scanId, ...stored } = record;
  doc.transact(() => scans.set(scanId, stored), origin);
  return record;
}

/** A `scansById` value: strict, so a value that repeats its own `scanId` is refused rather than trusted. */
const StoredScanValue = ScanRecord.omit({ scanId: true });

/**
 * The record a `scansById` entry stands for, or why it is not one (a doc can come from an untrusted peer).
 * @example const parsed = parseStoredScan(item.parentSub, value); if (parsed.success) timeline.add(parsed.data);
 */
export function parseStoredScan(scanId: string, value: unknown): { success: true; data: ScanRecord } | { success: false; error: z.ZodError } {
  const id = ScanId.safeParse(scanId);
  if (!id.success) return id;
  const stored = StoredScanValue.safeParse(value);
  if (!stored.success) return stored;
  return { success: true, data: { scanId: id.data, ...stored.data } };
}

/**
 * Every scan in the doc with its Yjs id, in no meaningful order (timeline order comes from `AdmissionTimeline`).
 * Records that break the schema (a doc can come from an untrusted peer) are passed to `onInvalid` and left out.
 * @example const entries = readScanEntries(doc, (value) => log.warn({ value }, 'bad scan'));
 */
export function readScanEntries(doc: Y.Doc, onInvalid?: (value: unknown) => void): ScanEntry[] {
  const entries: ScanEntry[] = [];
  // Walk the items rather than `entries()`: the Yjs id of each entry is what sync bookkeeping needs.
  for (const [scanId, item] of gateDocTypes(doc).scans._map) {
    if (item.deleted) continue;
    const value = item.content.getContent()[item.length - 1];
    const parsed = parseStoredScan(scanId, value);
    if (parsed.success) entries.push({ scan: parsed.data, client: item.id.client, clock: item.id.clock });
    else onInvalid?.(value);
  }
  return entries;
}

/**
 * Every valid scan in the doc, in no meaningful order (see `AdmissionTimeline` for the timeline).
 * @example const scans = readScans(doc);
 */
export function readScans(doc: Y.Doc, onInvalid?: (value: unknown) => void): ScanRecord[] {
  return readScanEntries(doc, onInvalid).map((entry) => entry.scan);
}

/**
 * How many scans the doc holds. `Y.Map.size` iterates every entry; this counts live ones without building arrays.
 * @example if (countScans(doc) === expected) done();
 */
export function countScans(doc: Y.Doc): number {
  let count = 0;
  for (const item of gateDocTypes(doc).scans._map.values()) if (!item.deleted) count++;
  return count;
}

/**
 * How many elements the doc holds under format 1's `scans` array, which nothing reads any more: a replica that loads
 * such a doc reports it loudly rather than losing those scans quietly.
 * @example if (legacyScanCount(doc) > 0) log.error('doc holds format 1 scans');
 */
export function legacyScanCount(doc: Y.Doc): number {
  const legacy = doc.share.get(LEGACY_SCANS);
  let count = 0;
  for (let item = legacy?._start ?? null; item !== null; item = item.right) if (!item.deleted && item.countable) count += item.length;
  return count;
}

/** Scans added by one transaction. */
export interface ScanBatch {
  entries: ScanEntry[];
  /** Values that arrived in `scansById` but break the schema: report them, never derive state from them. */
  invalid: unknown[];
  /** The transaction origin (a socket, 'disk', 'local', …). */
  origin: unknown;
}

/**
 * Calls `listener` after every transaction that added scans, with just the new ones. Cost is proportional to the new
 * structs, not to the map. Yjs' `keysChanged` would name the keys, but walking the transaction's new structs also
 * gives each scan's Yjs id, which the agent's pending tracker needs.
 * Returns the unsubscribe function.
 * @example const stop = observeScans(doc, ({ entries }) => entries.forEach((e) => timeline.add(e.scan)));
 */
export function observeScans(doc: Y.Doc, listener: (batch: ScanBatch) => void): () => void {
  const { scans } = gateDocTypes(doc);
  // `changed` is keyed by the base type; Yjs' typings do not see a Y.Map as one.
  const scansType = scans as Y.AbstractType<any>; // eslint-disable-line @typescript-eslint/no-explicit-any
  const handler = (transaction: Y.Transaction): void => {
    if (!transaction.changed.has(scansType)) return;
    const batch: ScanBatch = { entries: [], invalid: [], origin: transaction.origin };
    for (const [client, after] of transaction.afterState) {
      const before = transaction.beforeState.get(client) ?? 0;
      if (after <= before) continue;
      const structs = doc.store.clients.get(client);
      if (!structs) continue;
      for (let i = Y.findIndexSS(structs, before); i < structs.length; i++) {
        const struct = structs[i]!;
        if (struct.id.clock >= after) break;
        if (!(struct instanceof Y.Item) || struct.parent !== scans || struct.deleted || struct.parentSub === null) continue;
        // A map entry holds one value (Yjs never merges entries of different keys).
        const value = struct.content.getContent()[struct.length - 1];
        const parsed = parseStoredScan(struct.parentSub, value);
        if (parsed.success) batch.entries.push({ scan: parsed.data, client, clock: struct.id.clock });
        else batch.invalid.push(value);
      }
    }
    if (batch.entries.length > 0 || batch.invalid.length > 0) listener(batch);
  };
  doc.on('afterTransaction', handler);
  return () => doc.off('afterTransaction', handler);
}

function sameJson(a: unknown, b: unknown): boolean {
  return a !== undefined && JSON.stringify(a) === JSON.stringify(b);
}
