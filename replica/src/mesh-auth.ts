/**
 * Keys and proofs of the venue mesh, shared by the hub (which derives and verifies them) and the edge agent (which
 * receives its own at pairing and proves itself with them). Node only (node:crypto).
 *
 * Everything derives from one per-event secret that never leaves the hub (the seed of the event's Ed25519 signing
 * key, see the hub's event keys). Pairing hands a gate two keys:
 * - the **mesh key**, the same for every gate of the event: a peer proves it holds it (and the answering agent proves
 *   it too, see {@link meshProof}), so only paired gates of this event join the mesh, in both directions;
 * - the **scan key**, one per gate: each scan the gate records carries `mac = HMAC(scanKey, scan)`, so the hub can
 *   tell a scan relayed by another gate from one forged by it (a gate knows no other gate's scan key).
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { MeshCredentials } from '@opshub/schema';
import type { ScanRecord } from './gate-doc.ts';

export { MeshCredentials };

const hmac = (key: Uint8Array | string, text: string): Buffer => createHmac('sha256', typeof key === 'string' ? Buffer.from(key, 'base64url') : key).update(text).digest();

/**
 * The mesh key of an event (one for all its gates).
 * @example const meshKey = deriveMeshKey(secret, 'expo');
 */
export function deriveMeshKey(eventSecret: Uint8Array, event: string): string {
  return hmac(eventSecret, `opshub/mesh/v1|${event}`).toString('base64url');
}

/**
 * The scan key of one gate of an event.
 * @example const scanKey = deriveScanKey(secret, 'expo', 'north');
 */
export function deriveScanKey(eventSecret: Uint8Array, event: string, gate: string): string {
  return hmac(eventSecret, `opshub/scan/v1|${event}|${gate}`).toString('base64url');
}

/**
 * Everything a gate needs for the mesh, derived from the event secret.
 * @example const credentials = deriveMeshCredentials(secret, 'expo', 'north');
 */
export function deriveMeshCredentials(eventSecret: Uint8Array, event: string, gate: string): MeshCredentials {
  return { event, gate, meshKey: deriveMeshKey(eventSecret, event), scanKey: deriveScanKey(eventSecret, event, gate) };
}

/**
 * The fields a scan's MAC covers, in a fixed order, `|`-joined (none of them may contain `|` but the code, which is
 * last). An override (`override: true`) is covered too, so a relaying gate cannot turn a refused scan into an
 * admission on override or hide an override: such a scan is MACed under its own version tag (`v2`, with an
 * `override` field), and a scan without one keeps the `v1` text, so the MACs of ordinary scans made before the
 * override was covered still verify. The tags differ, so no v1 text (whatever its code) equals a v2 text.
 */
function scanText(scan: Omit<ScanRecord, 'mac'>): string {
  const head = [scan.scanId, scan.gate, scan.device, scan.dir, String(scan.at), scan.verdict];
  return (scan.override === true ? ['opshub/scan-mac/v2', ...head, 'override', scan.code] : ['opshub/scan-mac/v1', ...head, scan.code]).join('|');
}

/**
 * The MAC a gate puts on a scan it records.
 * @example appendScan(doc, { ...record, mac: scanMac(credentials.scanKey, record) });
 */
export function scanMac(scanKey: string, scan: Omit<ScanRecord, 'mac'>): string {
  return hmac(scanKey, scanText(scan)).toString('base64url');
}

/** True when `scan.mac` was made with `scanKey` over exactly these fields (the override flag included). */
export function verifyScanMac(scanKey: string, scan: ScanRecord): boolean {
  if (scan.mac === undefined) return false;
  return sameText(scan.mac, scanMac(scanKey, scan));
}

/** A fresh nonce (16 random bytes, base64url). */
export function meshNonce(): string {
  return randomBytes(16).toString('base64url');
}

/**
 * One side's proof in the mesh handshake: HMAC of the mesh key over the side, the event, who speaks, and both nonces.
 * The dialler proves it over the answerer's challenge nonce; the answerer proves it over the dialler's nonce: each
 * side's proof is fresh for the other, so neither can be replayed and both ends are authenticated.
 * @example const proof = meshProof(meshKey, 'dial', { event, gate, device, challenge, nonce });
 */
export function meshProof(meshKey: string, side: 'dial' | 'answer', parts: { event: string; gate: string; device: string; challenge: string; nonce: string }): string {
  return hmac(meshKey, ['opshub/mesh-proof/v1', side, parts.event, parts.gate, parts.device, parts.challenge, parts.nonce].join('|')).toString('base64url');
}

/** Constant-time comparison of two base64url texts. */
export function sameText(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}
