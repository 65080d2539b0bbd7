import { createSocket, type Socket } from 'node:dgram';
import { OwnedProcess } from './owned-process.ts';

/** What the link does to every packet, each direction on its own (a netem-like model). */
export interface Impairment {
  /** Probability (0..1) that a packet is dropped. */
  readonly loss: number;
  /** Added one-way delay in milliseconds (both directions: a round trip gets twice this). */
  readonly delayMs: number;
  /** Uniform jitter added on top of the delay, 0..jitterMs (packets are still delivered in order). */
  readonly jitterMs: number;
}

export const clearLink: Impairment = Object.freeze({ loss: 0, delayMs: 0, jitterMs: 0 });

/** Packets carried, dropped and cut, both directions together. */
export interface LinkCounters {
  forwarded: number;
  dropped: number;
  /** dropped because the link was down */
  cut: number;
}

/**
 * A point-to-point IP link between two network namespaces whose packets pass through this process, so loss, latency
 * and a flapping line can be applied to them one by one (what `tc qdisc ... netem` does, for kernels built without
 * sch_netem, as the Firecracker kernels of these machines are). Each end is a TUN device opened by a `socat` (Debian's
 * package) running in that end's namespace; socat hands every
 * IP packet to a UDP socket of this relay (over a management link) and writes back what the relay returns.
 *
 * The kernels on either side see real IP: TCP retransmits, backs off and times out exactly as over a bad uplink.
 *
 * @example
 * const link = await LossyLink.open({
 *   name: 'vn1up',
 *   a: { netns: 'vn1-lan', address: '10.231.1.1', relay: { host: '10.231.251.1', netnsAddress: '10.231.251.2' } },
 *   b: { netns: 'vn1-hub', address: '10.231.1.2', relay: { host: '10.231.250.1', netnsAddress: '10.231.250.2' } },
 * });
 * link.impair({ loss: 0.3, delayMs: 1000, jitterMs: 0 });
 * link.setDown(true); // the line is cut: every packet is dropped silently
 */
export class LossyLink {
  #impairment: Impairment = clearLink;
  #down = false;
  #flap: NodeJS.Timeout | undefined;
  #closed = false;
  /** A packet must not overtake the one before it in its direction: each direction releases no earlier than its last. */
  readonly #lastRelease = [0, 0];
  readonly counters: LinkCounters = { forwarded: 0, dropped: 0, cut: 0 };

  readonly #sockets: readonly [Socket, Socket];
  /** Where each end's socat listens (its namespace's management address, {@link SOCAT_PORT}). */
  readonly #socatHosts: readonly [string, string];

  private constructor(
    readonly name: string,
    sockets: readonly [Socket, Socket],
    socatHosts: readonly [string, string],
    readonly processes: readonly OwnedProcess[],
  ) {
    this.#sockets = sockets;
    this.#socatHosts = socatHosts;
    for (const side of [0, 1] as const) {
      const other = side === 0 ? 1 : 0;
      this.#sockets[side].on('message', (packet) => this.#carry(packet, other));
    }
  }

  /**
   * Creates TUN devices `${name}a` and `${name}b` in the two namespaces with the given addresses (point to point)
   * and starts relaying, unimpaired. `name` must be at most 14 characters.
   */
  static async open(options: { name: string; a: LinkEnd; b: LinkEnd }): Promise<LossyLink> {
    const { name } = options;
    if (name.length > 14) throw new Error(`link name ${name} is longer than 14 characters (interface names have 15)`);
    const ends = [options.a, options.b] as const;
    const sockets = await Promise.all(ends.map((end) => bindUdp(end.relay.host)));
    const processes: OwnedProcess[] = [];
    try {
      for (const side of [0, 1] as const) {
        const dev = `${name}${side === 0 ? 'a' : 'b'}`;
        const end = ends[side];
        const relayPort = sockets[side]!.address().port;
        // socat runs inside the namespace (so `ip netns pids` finds it when a killed run is cleaned up) and reaches
        // the relay over the namespace's management link. -b: a whole packet per read; iff-no-pi: raw IP.
        const socat = OwnedProcess.spawn(`socat ${dev}`, 'ip', [
          'netns', 'exec', end.netns,
          'socat', '-b', '65536', `TUN,tun-type=tun,tun-name=${dev},iff-no-pi`, `UDP:${end.relay.host}:${relayPort},sourceport=${SOCAT_PORT}`,
        ]);
        processes.push(socat);
        await waitForDevice(end.netns, dev, socat);
        const peer = ends[side === 0 ? 1 : 0].address;
        await ip(['-n', end.netns, 'addr', 'add', end.address, 'peer', peer, 'dev', dev]);
        await ip(['-n', end.netns, 'link', 'set', dev, 'up']);
      }
    } catch (err) {
      for (const p of processes) await p.stop();
      for (const s of sockets) s.close();
      throw err;
    }
    return new LossyLink(name, [sockets[0]!, sockets[1]!], [options.a.relay.netnsAddress, options.b.relay.netnsAddress], processes);
  }

  get impairment(): Impairment {
    return this.#impairment;
  }

  get down(): boolean {
    return this.#down;
  }

  /** Applies to packets from now on; packets already delayed keep their release time. */
  impair(impairment: Impairment): void {
    if (impairment.loss < 0 || impairment.loss > 1 || impairment.delayMs < 0 || impairment.jitterMs < 0) throw new Error(`bad impairment ${JSON.stringify(impairment)}`);
    this.#impairment = Object.freeze({ ...impairment });
  }

  /** Cuts (true) or restores (false) the line; stops any flapping. */
  setDown(down: boolean): void {
    this.stopFlapping();
    this.#down = down;
  }

  /**
   * The line goes down for `downMs` every `periodMs` (the first outage starts after `periodMs - downMs`), until
   * {@link stopFlapping} or {@link setDown}.
   */
  flap(periodMs: number, downMs: number): void {
    this.stopFlapping();
    const cycle = (): void => {
      this.#down = false;
      this.#flap = setTimeout(() => {
        this.#down = true;
        this.#flap = setTimeout(cycle, downMs);
      }, periodMs - downMs);
    };
    cycle();
  }

  stopFlapping(): void {
    clearTimeout(this.#flap);
    this.#flap = undefined;
    this.#down = false;
  }

  /** Stops socat (its TUN devices vanish with it) and the relay. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.stopFlapping();
    await Promise.all(this.processes.map((p) => p.stop()));
    for (const s of this.#sockets) s.close();
  }

  #carry(packet: Buffer, toSide: 0 | 1): void {
    if (this.#down) {
      this.counters.cut++;
      return;
    }
    const { loss, delayMs, jitterMs } = this.#impairment;
    if (loss > 0 && Math.random() < loss) {
      this.counters.dropped++;
      return;
    }
    this.counters.forwarded++;
    const send = () => {
      if (!this.#closed) this.#sockets[toSide].send(packet, SOCAT_PORT, this.#socatHosts[toSide]);
    };
    if (delayMs === 0 && jitterMs === 0) return send();
    const release = Math.max(performance.now() + delayMs + Math.random() * jitterMs, this.#lastRelease[toSide]!);
    this.#lastRelease[toSide] = release;
    setTimeout(send, release - performance.now());
  }
}

export interface LinkEnd {
  readonly netns: string;
  /** The address of the link's TUN device in `netns` (the other end's is its point-to-point peer). */
  readonly address: string;
  /**
   * The management link between this process's namespace and `netns` that carries the relayed packets:
   * `host` is this side's address on it, `netnsAddress` the namespace's.
   */
  readonly relay: { readonly host: string; readonly netnsAddress: string };
}

/** The UDP port socat sends from inside its namespace (each namespace has its own ports). */
const SOCAT_PORT = 4789;

function bindUdp(host: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = createSocket('udp4');
    socket.once('error', reject);
    socket.bind(0, host, () => resolve(socket));
  });
}

/** socat creates the TUN device once it runs; wait for it (or for socat's death). */
async function waitForDevice(netns: string, dev: string, socat: OwnedProcess): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    if (!socat.running) throw new Error(`socat for ${dev} exited: ${socat.tail()}`);
    if ((await run('ip', ['-n', netns, 'link', 'show', dev])).code === 0) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`socat did not create ${dev} within 10 s: ${socat.tail()}`);
}

/** `ip ARGS`, rejecting with its stderr on failure. */
export async function ip(args: readonly string[]): Promise<void> {
  const { code, output } = await run('ip', args);
  if (code !== 0) throw new Error(`ip ${args.join(' ')}: ${output.trim()}`);
}

/** Runs a short command, resolving with its exit code and combined output (never rejects). */
export async function run(command: string, args: readonly string[]): Promise<{ code: number | null; output: string }> {
  const p = OwnedProcess.spawn(command, command, args);
  const { code } = await p.exited;
  return { code, output: p.tail() };
}
