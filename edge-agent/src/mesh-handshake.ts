/**
 * The venue mesh handshake: mutual proof of the event's mesh key, with a fresh nonce from each side.
 *
 * 1. The dialler asks the answering agent for a challenge: `GET /mesh/challenge` → `{"challenge"}` (single use, 30 s).
 * 2. It upgrades `WS /yjs/event/{e}/gate?gate=G&device=D&challenge=C&nonce=N&proof=P`, where
 *    `P = meshProof(meshKey, 'dial', {event, gate: G, device: D, challenge: C, nonce: N})`.
 * 3. The answerer checks the challenge is one it issued and unused, and the proof; otherwise `401` before the upgrade.
 *    It upgrades with `x-opshub-mesh-proof: meshProof(meshKey, 'answer', {event, gate: its gate, device: its device,
 *    challenge: C, nonce: N})` (and its gate and device in headers), which the dialler checks before it sends a byte
 *    of the doc: an impostor answering on a peer's address learns nothing.
 * No tokens travel on the mesh: a token can be replayed, a proof over the other side's nonce cannot.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { Id } from '@opshub/schema';
import { meshNonce, meshProof, sameText, type MeshCredentials } from '@opshub/replica';
import { z } from 'zod';

export const MESH_PROOF_HEADER = 'x-opshub-mesh-proof';
export const MESH_GATE_HEADER = 'x-opshub-gate';
/** Header a peer agent sends back on upgrade, so the dialler knows which device it reached. */
export const DEVICE_HEADER = 'x-opshub-device';
export const CHALLENGE_PATH = '/mesh/challenge';

const CHALLENGE_TTL_MS = 30_000;
/** Outstanding challenges kept at most (a LAN host asking in a loop cannot grow this without bound). */
const MAX_CHALLENGES = 1024;

const Nonce = z.string().regex(/^[A-Za-z0-9_-]{16,64}$/);
const Proof = z.string().regex(/^[A-Za-z0-9_-]{43}$/);
const DialQuery = z.object({ gate: Id, device: Id, challenge: Nonce, nonce: Nonce, proof: Proof });
export type DialClaim = z.infer<typeof DialQuery>;

/** A dialler was refused; `status` is the HTTP answer before any upgrade. */
export class MeshRefusal extends Error {
  override readonly name = 'MeshRefusal';
  constructor(
    message: string,
    readonly status: 401 | 403 | 503,
  ) {
    super(message);
  }
}

/**
 * The answering side: issues challenges and checks diallers' proofs.
 * @example const claim = answerer.verify(url.searchParams); headers.push(...answerer.answerHeaders(claim));
 */
export class MeshAnswerer {
  readonly #challenges = new Map<string, number>();

  constructor(
    private readonly deps: {
      event: string;
      gate: string;
      device: string;
      /** undefined until the agent is paired */
      credentials: () => MeshCredentials | undefined;
      /** the gates the event has, when the meta has synced (a dialler must name one of them) */
      knownGate: (gate: string) => boolean;
      now?: () => number;
    },
  ) {}

  /** A fresh single-use challenge. */
  challenge(): string {
    const now = this.#now();
    for (const [nonce, expires] of this.#challenges) if (expires <= now || this.#challenges.size >= MAX_CHALLENGES) this.#challenges.delete(nonce);
    const nonce = meshNonce();
    this.#challenges.set(nonce, now + CHALLENGE_TTL_MS);
    return nonce;
  }

  /** The dialler's claim when its proof holds, or a {@link MeshRefusal}. Uses up the challenge either way. */
  verify(query: URLSearchParams): DialClaim {
    const credentials = this.deps.credentials();
    if (!credentials) throw new MeshRefusal('this gate is not paired with the hub yet, so it admits no peers', 503);
    const parsed = DialQuery.safeParse(Object.fromEntries(query));
    if (!parsed.success) throw new MeshRefusal('a mesh proof is required (gate, device, challenge, nonce, proof)', 401);
    const claim = parsed.data;
    const expires = this.#challenges.get(claim.challenge);
    this.#challenges.delete(claim.challenge);
    if (expires === undefined || expires <= this.#now()) throw new MeshRefusal('unknown or expired challenge', 401);
    const expected = meshProof(credentials.meshKey, 'dial', { event: this.deps.event, ...claim });
    if (!sameText(claim.proof, expected)) throw new MeshRefusal('the mesh proof does not verify', 401);
    if (!this.deps.knownGate(claim.gate)) throw new MeshRefusal(`gate ${claim.gate} is not a gate of this event`, 403);
    return claim;
  }

  /** The headers the upgrade answers with: who we are, and our proof over the dialler's nonce. */
  answerHeaders(claim: DialClaim): string[] {
    const credentials = this.deps.credentials()!;
    const proof = meshProof(credentials.meshKey, 'answer', { event: this.deps.event, gate: this.deps.gate, device: this.deps.device, challenge: claim.challenge, nonce: claim.nonce });
    return [`${DEVICE_HEADER}: ${this.deps.device}`, `${MESH_GATE_HEADER}: ${this.deps.gate}`, `${MESH_PROOF_HEADER}: ${proof}`];
  }

  #now(): number {
    return (this.deps.now ?? Date.now)();
  }
}

/**
 * The dialling side: fetches a challenge from `peer` (`ws://HOST:PORT`) and returns the URL to upgrade with, and a
 * check of the answer's headers (an error message when the answerer did not prove the mesh key).
 * @example const { url, checkAnswer } = await prepareDial(peer, docPath, credentials, device);
 */
export async function prepareDial(
  peer: string,
  docPath: string,
  credentials: MeshCredentials,
  device: string,
  timeoutMs = 5000,
): Promise<{ url: string; checkAnswer: (headers: IncomingHttpHeaders) => string | undefined }> {
  const base = peer.replace(/^ws(s?):/, 'http$1:');
  const response = await fetch(`${base}${CHALLENGE_PATH}`, { signal: AbortSignal.timeout(timeoutMs) });
  if (!response.ok) throw new Error(`challenge: HTTP ${response.status}`);
  const challenge = Nonce.parse(((await response.json()) as { challenge?: unknown }).challenge);
  const nonce = meshNonce();
  const { event, gate, meshKey } = credentials;
  const proof = meshProof(meshKey, 'dial', { event, gate, device, challenge, nonce });
  const query = new URLSearchParams({ gate, device, challenge, nonce, proof });
  return {
    url: `${peer}${docPath}?${query}`,
    checkAnswer(headers) {
      const theirGate = Id.safeParse(headers[MESH_GATE_HEADER]);
      const theirDevice = Id.safeParse(headers[DEVICE_HEADER]);
      const theirProof = headers[MESH_PROOF_HEADER];
      if (!theirGate.success || !theirDevice.success || typeof theirProof !== 'string') return 'the peer sent no mesh proof';
      const expected = meshProof(meshKey, 'answer', { event, gate: theirGate.data, device: theirDevice.data, challenge, nonce });
      return sameText(theirProof, expected) ? undefined : 'the peer\'s mesh proof does not verify';
    },
  };
}
