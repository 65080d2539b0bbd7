import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnAgent, type AgentProcess } from '../../../edge-agent/test/helpers.ts';
import { startHubProcess, type HubProcess } from '../support/hub-process.ts';
import { minter, testSecret } from '../support/test-hub.ts';

/**
 * Real processes for end-to-end gate tests: a hub (`main.ts`) on its own DATA_DIR and edge agents (`opshub-edge`)
 * dialling it. Everything started here is stopped by `close()`.
 */
export class EdgeFleet {
  hub: HubProcess | undefined;
  readonly agents = new Map<string, AgentProcess & { data: string }>();
  readonly #dirs: string[] = [];
  readonly #seeded = new Map<string, string>();
  hubPort = 0;

  private constructor(readonly hubData: string, readonly event: string) {}

  static async create(event: string): Promise<EdgeFleet> {
    const fleet = new EdgeFleet(await mkdtemp(join(tmpdir(), 'opshub-fleet-hub-')), event);
    fleet.#dirs.push(fleet.hubData);
    return fleet;
  }

  /** Starts the hub (again, on the same port and data after a stop). */
  async startHub(env: Record<string, string> = {}, timeoutMs?: number): Promise<HubProcess> {
    // A fixed port from the start, as in production: a port the kernel picked for listen(0) cannot be bound again
    // while its old connections sit in TIME_WAIT, and the agents must find the hub where it was.
    this.hubPort ||= await freePort();
    this.hub = await startHubProcess({ DATA_DIR: this.hubData, HUB_JWT_SECRET: testSecret, PORT: String(this.hubPort), ...env }, timeoutMs);
    this.hubPort = this.hub.port;
    return this.hub;
  }

  async stopHub(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    await this.hub?.stop(signal);
    this.hub = undefined;
  }

  /** REST against the hub as an admin. */
  async api(path: string, init: RequestInit = {}): Promise<Response> {
    const token = await minter.mint({ sub: 'admin', role: 'admin', events: ['*'] });
    return fetch(`http://127.0.0.1:${this.hubPort}${path}`, { ...init, headers: { authorization: `Bearer ${token}`, ...init.headers } });
  }

  /** The data folder of agent `name` (made now if it has none yet, so a test can seed it before the start). */
  async dataDir(name: string): Promise<string> {
    let data = this.agents.get(name)?.data ?? this.#seeded.get(name);
    if (!data) {
      data = await mkdtemp(join(tmpdir(), `opshub-fleet-${name}-`));
      this.#dirs.push(data);
      this.#seeded.set(name, data);
    }
    return data;
  }

  /** Starts (or restarts on its data folder) the agent for `gate`; `hubUrl` null: mesh only, no hub. */
  async startAgent(name: string, gate: string, extra: string[] = [], hubUrl: string | null = `ws://127.0.0.1:${this.hubPort}`): Promise<AgentProcess & { data: string }> {
    const data = await this.dataDir(name);
    const token = await minter.mint({ sub: name, role: 'gate', events: [this.event], gate });
    const agent = await spawnAgent([...(hubUrl === null ? [] : ['--hub', hubUrl]), '--event', this.event, '--gate', gate, '--token', token, '--port', '0', '--data', data, '--device', name, ...extra]);
    const entry = { ...agent, data };
    this.agents.set(name, entry);
    return entry;
  }

  async killAgent(name: string): Promise<void> {
    const agent = this.agents.get(name);
    if (!agent) return;
    agent.child.kill('SIGKILL');
    await agent.exited;
  }

  async scan(name: string, code: string, dir: 'in' | 'out' = 'in'): Promise<{ verdict: string }> {
    const res = await fetch(`${this.agents.get(name)!.url}/scan`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ code, dir }) });
    if (res.status !== 200) throw new Error(`scan ${code} at ${name}: HTTP ${res.status} ${await res.text()}`);
    return (await res.json()) as { verdict: string };
  }

  async status(name: string): Promise<{ online: boolean; peers: number; pending: number; tickets: number; scans: number; unsaved: number; inside: number }> {
    return (await (await fetch(`${this.agents.get(name)!.url}/status`)).json()) as never;
  }

  async close(): Promise<void> {
    for (const agent of this.agents.values()) {
      agent.child.kill('SIGKILL');
      await agent.exited;
    }
    await this.hub?.stop('SIGKILL');
    await Promise.all(this.#dirs.map((d) => rm(d, { recursive: true, force: true })));
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** Polls an observable condition (a process's status has no event to await), bounded in time. */
export async function until<T>(probe: () => Promise<T>, ok: (value: T) => boolean, what: string, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: T | undefined;
  while (Date.now() < deadline) {
    last = await probe().catch(() => undefined as T);
    if (last !== undefined && ok(last)) return last;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${what}: not reached within ${timeoutMs} ms (last: ${JSON.stringify(last)})`);
}
