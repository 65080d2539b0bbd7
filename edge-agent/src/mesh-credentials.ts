/**
 * The gate's mesh credentials (see `@opshub/replica/mesh-auth`): obtained from the hub once, at pairing, and kept
 * in the data folder (`mesh.json`, mode 600), so the mesh works on a venue LAN the hub cannot reach. Until paired the
 * agent neither dials peers nor admits any, and its scans carry no MAC.
 */
import { readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { MeshCredentials } from '@opshub/replica';

export const MESH_FILE = 'mesh.json';

/** Pairing failed; `retry` is false when the hub refused our token (trying again at once will not help). */
export class PairingError extends Error {
  override readonly name = 'PairingError';
  constructor(
    message: string,
    readonly retry: boolean,
  ) {
    super(message);
  }
}

/**
 * The credentials stored in `dir`, when they are for this event and gate (a folder reused for another gate pairs again).
 * @example const credentials = await loadMeshCredentials('./data/edge-expo-north', 'expo', 'north');
 */
export async function loadMeshCredentials(dir: string, event: string, gate: string): Promise<MeshCredentials | undefined> {
  let text: string;
  try {
    text = await readFile(join(dir, MESH_FILE), 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return undefined;
  }
  const parsed = MeshCredentials.safeParse(json);
  return parsed.success && parsed.data.event === event && parsed.data.gate === gate ? parsed.data : undefined;
}

/** Writes credentials to `dir` atomically, readable by this user only. */
export async function saveMeshCredentials(dir: string, credentials: MeshCredentials): Promise<void> {
  const path = join(dir, MESH_FILE);
  await writeFile(`${path}.tmp`, `${JSON.stringify(credentials)}\n`, { mode: 0o600 });
  await rename(`${path}.tmp`, path);
}

/**
 * Asks the hub for this gate's credentials: `POST {hub}/api/v1/events/{e}/gates/{g}/mesh-credentials` with the agent's token.
 * @example const credentials = await pairWithHub('ws://hub:8080', 'expo', 'north', token);
 */
export async function pairWithHub(hub: string, event: string, gate: string, token: string, timeoutMs = 5000): Promise<MeshCredentials> {
  const base = hub.replace(/^ws(s?):/, 'http$1:');
  let response: Response;
  try {
    response = await fetch(`${base}/api/v1/events/${encodeURIComponent(event)}/gates/${encodeURIComponent(gate)}/mesh-credentials`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: '{}',
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (error) {
    throw new PairingError(`hub unreachable: ${error instanceof Error ? error.message : String(error)}`, true);
  }
  const body: unknown = await response.json().catch(() => undefined);
  if (!response.ok) {
    const message = (body as { message?: string } | undefined)?.message ?? '';
    throw new PairingError(`HTTP ${response.status} ${message}`.trim(), response.status >= 500 || response.status === 429);
  }
  const parsed = MeshCredentials.safeParse(body);
  if (!parsed.success || parsed.data.event !== event || parsed.data.gate !== gate) throw new PairingError('the hub answered something that is not this gate\'s credentials', true);
  return parsed.data;
}

/**
 * The agent's credentials as they stand: loaded from `dir`, or obtained from the hub in the background (retried every
 * `retryMs` while the hub is out of reach, at most every minute when it refuses the token) and then kept in `dir`.
 * @example const pairing = await MeshPairing.start({ dir, event, gate, token, hub }); pairing.current?.scanKey;
 */
export class MeshPairing {
  #current: MeshCredentials | undefined;
  #timer: NodeJS.Timeout | undefined;
  #closed = false;
  readonly #listeners = new Set<() => void>();

  private constructor(private readonly options: { dir: string; event: string; gate: string; token: string; hub?: string; retryMs?: number; log?: (message: string) => void }) {}

  static async start(options: MeshPairing['options']): Promise<MeshPairing> {
    const pairing = new MeshPairing(options);
    pairing.#current = await loadMeshCredentials(options.dir, options.event, options.gate);
    if (!pairing.#current && options.hub) pairing.#attempt(options.hub);
    return pairing;
  }

  /** undefined until paired */
  get current(): MeshCredentials | undefined {
    return this.#current;
  }

  /** Called once credentials arrive. Returns the unsubscribe function. */
  onPaired(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  close(): void {
    this.#closed = true;
    clearTimeout(this.#timer);
  }

  #attempt(hub: string): void {
    const { dir, event, gate, token, log } = this.options;
    pairWithHub(hub, event, gate, token)
      .then(async (credentials) => {
        if (this.#closed) return;
        await saveMeshCredentials(dir, credentials);
        this.#current = credentials;
        log?.(`paired with the hub: mesh credentials for ${event}/${gate} kept in ${MESH_FILE}`);
        for (const listener of this.#listeners) listener();
      })
      .catch((error: unknown) => {
        if (this.#closed) return;
        const retry = !(error instanceof PairingError) || error.retry;
        log?.(`pairing with the hub failed (${error instanceof Error ? error.message : String(error)}); the mesh stays closed until it succeeds`);
        this.#timer = setTimeout(() => this.#attempt(hub), retry ? (this.options.retryMs ?? 2000) : 60_000);
        this.#timer.unref();
      });
  }
}
