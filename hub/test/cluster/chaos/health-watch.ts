import { sleep } from './resuming-client.ts';

/** One answer of one hub's `/healthz`: its status (0: no answer at all) and the problems it named. */
export interface HealthSample {
  readonly at: number;
  readonly hub: string;
  readonly status: number;
  readonly problems: readonly string[];
  readonly draining: boolean;
}

/**
 * Asks every hub's own `/healthz` (not through the balancer: each hub's answer is what HAProxy's check sees) every
 * `intervalMs` and keeps the answers, so the drill can say what the hubs reported while Redis or PostgreSQL was down.
 */
export class HealthWatch {
  readonly samples: HealthSample[] = [];
  #running = true;
  readonly #loop: Promise<void>;

  constructor(
    private readonly hubs: readonly { readonly name: string; readonly url: string }[],
    private readonly intervalMs = 150,
  ) {
    this.#loop = this.#run();
  }

  async #run(): Promise<void> {
    while (this.#running) {
      await Promise.all(this.hubs.map((hub) => this.#ask(hub)));
      await sleep(this.intervalMs);
    }
  }

  async #ask(hub: { name: string; url: string }): Promise<void> {
    const at = Date.now();
    try {
      const res = await fetch(`${hub.url}/healthz`, { signal: AbortSignal.timeout(2000) });
      const body = (await res.json()) as { problems?: string[]; draining?: boolean };
      this.samples.push({ at, hub: hub.name, status: res.status, problems: body.problems ?? [], draining: body.draining === true });
    } catch {
      this.samples.push({ at, hub: hub.name, status: 0, problems: ['no answer'], draining: false });
    }
  }

  /** The distinct answers each hub gave between `from` and `to`, as "503 redis bus unreachable" or "200". */
  statesBetween(from: number, to: number): Record<string, string[]> {
    const states: Record<string, string[]> = {};
    for (const sample of this.samples) {
      if (sample.at < from || sample.at > to) continue;
      const state = describe(sample);
      const list = (states[sample.hub] ??= []);
      if (!list.includes(state)) list.push(state);
    }
    return states;
  }

  /** When each hub first answered 200 at or after `from` (undefined: not yet). */
  readyAgainAt(from: number): Record<string, number | undefined> {
    return Object.fromEntries(this.hubs.map((hub) => [hub.name, this.samples.find((s) => s.hub === hub.name && s.at >= from && s.status === 200)?.at]));
  }

  async stop(): Promise<void> {
    this.#running = false;
    await this.#loop;
  }
}

export function describe(sample: Pick<HealthSample, 'status' | 'problems'>): string {
  return sample.status === 200 ? '200' : `${sample.status || 'no answer'}${sample.problems.length && sample.status ? ` ${sample.problems.join(', ')}` : ''}`;
}
