import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SignJWT } from 'jose';
import * as Y from 'yjs';
import { deriveMeshCredentials, generateEventKeys, meshNonce, meshProof, putTickets, writeMeta, type Ed25519PublicJwk, type Ticket } from '@opshub/replica';
import { DiskReplica } from '../src/disk-replica.ts';
import { saveMeshCredentials } from '../src/mesh-credentials.ts';
import type { Agent } from '../src/agent.ts';

export const EVENT = 'expo';
const BIN = fileURLToPath(new URL('../bin/opshub-edge.js', import.meta.url));

/** A token with opshub claims. Peers do not verify signatures, so any HS256 secret will do here. */
export async function mintToken(claims: { role?: string; events?: string[]; gate?: string; exp?: string } = {}): Promise<string> {
  const { exp = '1h', role = 'gate', events = [EVENT], gate } = claims;
  return new SignJWT({ role, events, ...(gate && { gate }) })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(`test-${role}`)
    .setIssuedAt()
    .setExpirationTime(exp)
    .sign(new TextEncoder().encode('test-secret-test-secret-test-secret'));
}

/** A folder removed by the returned cleanup. */
export async function tempDir(prefix = 'opshub-edge-'): Promise<{ dir: string; remove: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  return { dir, remove: () => rm(dir, { recursive: true, force: true }) };
}

/** A fresh temp folder whose removal joins `cleanups` (the test file runs them after each test). */
export async function tempFolder(cleanups: (() => Promise<void>)[]): Promise<string> {
  const { dir, remove } = await tempDir();
  cleanups.push(remove);
  return dir;
}

export const ticket = (over: Partial<Ticket> = {}): Ticket => ({ holder: 'Ada Lovelace', email: 'ada@example.org', type: 'vip', zones: [], status: 'valid', ...over });

/** The hub's side of an event: meta (two zones, three gates), a roster and the signing key. */
export async function eventDoc(tickets: Record<string, Ticket> | Iterable<readonly [string, Ticket]>, publicJwk?: Ed25519PublicJwk): Promise<Y.Doc> {
  const doc = new Y.Doc();
  writeMeta(doc, {
    event: EVENT,
    name: 'Expo',
    timezone: 'UTC',
    zones: [
      { id: 'hall', name: 'Hall', capacity: 1000 },
      { id: 'backstage', name: 'Backstage', capacity: 50 },
    ],
    gates: [
      { id: 'north', name: 'North', zone: 'hall' },
      { id: 'south', name: 'South', zone: 'hall' },
      { id: 'crew', name: 'Crew door', zone: 'backstage' },
    ],
    ...(publicJwk && { publicKey: publicJwk }),
  });
  putTickets(doc, tickets);
  return doc;
}

/** Writes `doc` as the replica an agent finds in `dir` at start (as if synced from the hub earlier). */
export async function seedDataDir(dir: string, doc: Y.Doc): Promise<void> {
  const copy = new Y.Doc();
  const { replica } = await DiskReplica.open(copy, { dir });
  Y.applyUpdate(copy, Y.encodeStateAsUpdate(doc));
  await replica.compact();
  await replica.close();
}

export { generateEventKeys };

export async function postScan(base: string, body: unknown): Promise<{ status: number; body: any }> {
  const response = await fetch(`${base}/scan`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: response.status, body: await response.json() };
}

export async function getJson(url: string): Promise<{ status: number; body: any }> {
  const response = await fetch(url);
  return { status: response.status, body: await response.json() };
}

/** Resolves when a scan with `scanId` reaches the agent's replica (from any origin). Subscribe before scanning. */
export function scanArrives(agent: Agent, scanId: string, timeoutMs = 5000): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      stop();
      reject(new Error(`scan ${scanId} did not reach ${agent.options.gate} within ${timeoutMs} ms`));
    }, timeoutMs);
    const stop = agent.onScans((batch) => {
      if (batch.entries.some((e) => e.scan.scanId === scanId)) {
        clearTimeout(timer);
        stop();
        resolve();
      }
    });
  });
}

/** An agent as a child process, through its bin, as gate staff would start it. */
export interface AgentProcess {
  child: ChildProcessWithoutNullStreams;
  url: string;
  output: () => string;
  exited: Promise<number | null>;
}

/** `launcher`: a command that execs the rest, such as `ip netns exec NS` (the child is then the agent itself). */
export async function spawnAgent(args: string[], launcher: readonly string[] = []): Promise<AgentProcess> {
  const [command, ...launcherArgs] = [...launcher, process.execPath];
  const child = spawn(command!, [...launcherArgs, BIN, ...args], { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, INIT_CWD: '' } });
  let output = '';
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const url = await new Promise<string>((resolve, reject) => {
    const onData = (chunk: Buffer): void => {
      output += chunk.toString();
      const match = /listening on (http:\/\/\S+)/.exec(output);
      if (match) resolve(match[1]!);
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    void exited.then((code) => reject(new Error(`agent exited with ${code} before listening:\n${output}`)));
  });
  return { child, url, output: () => output, exited };
}

/** The event secret the tests' "hub" pairs gates with (a real hub derives it from the event's signing key). */
export const TEST_EVENT_SECRET = new Uint8Array(32).fill(7);

/** Pairs the agent that will run in `dir` as `gate`, as the hub's pairing would (writes `mesh.json`). */
export async function pairLocally(dir: string, gate: string, secret: Uint8Array = TEST_EVENT_SECRET): Promise<void> {
  await saveMeshCredentials(dir, deriveMeshCredentials(secret, EVENT, gate));
}

/**
 * The query a dialler upgrades `/yjs/event/{e}/gate` with: a challenge fetched from the agent and a proof over it
 * with the mesh key of `secret` (the test's own, or a wrong one).
 */
export async function meshQuery(agent: Agent, gate = 'south', secret: Uint8Array = TEST_EVENT_SECRET, device = `${gate}-test`): Promise<Record<string, string>> {
  const { challenge } = (await (await fetch(`${agent.url}/mesh/challenge`)).json()) as { challenge: string };
  const nonce = meshNonce();
  const { meshKey } = deriveMeshCredentials(secret, EVENT, gate);
  return { gate, device, challenge, nonce, proof: meshProof(meshKey, 'dial', { event: EVENT, gate, device, challenge, nonce }) };
}
