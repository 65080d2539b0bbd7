import { ip, LossyLink, run } from './lossy-link.ts';

export interface VenueNetworkOptions {
  /** Names of namespaces and devices start with it: unique per test file, 2 to 5 lower-case letters or digits. */
  readonly prefix: string;
  /** The venue lives in 10.`octet`.0.0/16: unique per test file (1..254). */
  readonly octet: number;
  /** LAN segments (one bridge each), each a list of gate names (letters and digits, at most 6 characters). */
  readonly groups: readonly (readonly string[])[];
}

export interface VenueGate {
  readonly name: string;
  readonly netns: string;
  readonly address: string;
  readonly group: number;
}

/**
 * A venue in network namespaces, for tests and the bench (root and Debian's iproute2 and socat needed):
 *
 * ```
 *  this process ──mgmt──┬── {p}-hub: the hub, 10.O.1.2 ══ uplink (LossyLink: loss, latency, flaps) ══╗
 *                       └── {p}-lan: venue router 10.O.1.1 ════════════════════════════════════════════╝
 *                              ├─ bridge 10.O.2.1/24 ── {p}-{gate} 10.O.2.11, .12, …   (LAN segment 0)
 *                              └─ bridge 10.O.3.1/24 ── {p}-{gate} 10.O.3.11, …        (LAN segment 1)
 * ```
 *
 * Agents reach the hub only over the uplink; agents of one segment reach each other over their bridge and those of
 * another through the router, where {@link cutLan} drops traffic between segments (policy rules, no netfilter).
 * Management links from this process's namespace reach the hub (10.O.250.2) and every gate (through the router,
 * never through the uplink) so a test can call their APIs unimpaired.
 *
 * @example
 * const venue = await VenueNetwork.create({ prefix: 'vnt', octet: 231, groups: [['a1', 'a2'], ['b1', 'b2']] });
 * spawn('ip', ['netns', 'exec', venue.hubNetns, process.execPath, 'hub/src/main.ts']);
 * venue.uplink.impair({ loss: 0.3, delayMs: 1000, jitterMs: 0 });
 * await venue.cutLan();
 * await venue.close();
 */
export class VenueNetwork {
  private constructor(
    readonly options: VenueNetworkOptions,
    readonly uplink: LossyLink,
    readonly gates: readonly VenueGate[],
  ) {}

  get hubNetns(): string {
    return `${this.options.prefix}-hub`;
  }

  /** The hub's address on the uplink: what agents dial. */
  get hubAddress(): string {
    return `10.${this.options.octet}.1.2`;
  }

  /** The hub's address on its management link: what this process uses for REST. */
  get hubManagementAddress(): string {
    return `10.${this.options.octet}.250.2`;
  }

  gate(name: string): VenueGate {
    const gate = this.gates.find((g) => g.name === name);
    if (!gate) throw new Error(`no gate ${name} in this venue`);
    return gate;
  }

  /** `ip netns exec` for `netns`: prefix a command with it to run it there. */
  static exec(netns: string): string[] {
    return ['ip', 'netns', 'exec', netns];
  }

  static async create(options: VenueNetworkOptions): Promise<VenueNetwork> {
    const { prefix: p, octet: o, groups } = options;
    if (!/^[a-z0-9]{2,5}$/.test(p)) throw new Error(`prefix ${p}: 2 to 5 lower-case letters or digits`);
    if (!Number.isInteger(o) || o < 1 || o > 254) throw new Error(`octet ${o}: 1..254`);
    if (groups.length < 1 || groups.length > 8) throw new Error('1 to 8 LAN segments');
    await VenueNetwork.clean(p);

    const hub = `${p}-hub`;
    const lan = `${p}-lan`;
    const gates: VenueGate[] = groups.flatMap((names, group) =>
      names.map((name, i) => {
        if (!/^[a-z0-9]{1,6}$/.test(name)) throw new Error(`gate ${name}: 1 to 6 lower-case letters or digits`);
        return { name, netns: `${p}-${name}`, address: `10.${o}.${2 + group}.${11 + i}`, group };
      }),
    );
    let uplink: LossyLink | undefined;
    try {
      for (const ns of [hub, lan, ...gates.map((g) => g.netns)]) {
        await ip(['netns', 'add', ns]);
        await ip(['-n', ns, 'link', 'set', 'lo', 'up']);
        // A router and a host with two links: reverse-path filtering would drop the asymmetric management paths.
        await sysctl(ns, 'net.ipv4.conf.all.rp_filter', '0');
        await sysctl(ns, 'net.ipv4.conf.default.rp_filter', '0');
      }
      await sysctl(lan, 'net.ipv4.ip_forward', '1');

      // Management links from this namespace.
      await veth(`${p}mh`, undefined, `10.${o}.250.1/30`, `${p}mh1`, hub, `10.${o}.250.2/30`);
      await veth(`${p}ml`, undefined, `10.${o}.251.1/30`, `${p}ml1`, lan, `10.${o}.251.2/30`);

      // LAN segments: a bridge per group in the router, a veth per gate.
      for (const [group] of groups.entries()) {
        const bridge = `${p}br${group}`;
        await ip(['-n', lan, 'link', 'add', bridge, 'type', 'bridge']);
        await ip(['-n', lan, 'addr', 'add', `10.${o}.${2 + group}.1/24`, 'dev', bridge]);
        await ip(['-n', lan, 'link', 'set', bridge, 'up']);
        await ip(['route', 'add', `10.${o}.${2 + group}.0/24`, 'via', `10.${o}.251.2`]);
      }
      for (const [i, gate] of gates.entries()) {
        const port = `${p}g${i}`;
        await veth(port, lan, undefined, `${p}g${i}x`, gate.netns, `${gate.address}/24`);
        await ip(['-n', lan, 'link', 'set', port, 'master', `${p}br${gate.group}`]);
        await ip(['-n', gate.netns, 'route', 'add', 'default', 'via', `10.${o}.${2 + gate.group}.1`]);
      }

      uplink = await LossyLink.open({
        name: `${p}up`,
        a: { netns: lan, address: `10.${o}.1.1`, relay: { host: `10.${o}.251.1`, netnsAddress: `10.${o}.251.2` } },
        b: { netns: hub, address: `10.${o}.1.2`, relay: { host: `10.${o}.250.1`, netnsAddress: `10.${o}.250.2` } },
      });
      for (const [group] of groups.entries()) await ip(['-n', hub, 'route', 'add', `10.${o}.${2 + group}.0/24`, 'dev', `${p}upb`]);
    } catch (err) {
      await uplink?.close();
      await VenueNetwork.clean(p);
      throw err;
    }
    return new VenueNetwork(options, uplink, gates);
  }

  /** Drops every packet between LAN segments (both ways) until {@link healLan}. */
  async cutLan(): Promise<void> {
    const { prefix: p, octet: o, groups } = this.options;
    let pref = 100;
    for (const [a] of groups.entries()) {
      for (const [b] of groups.entries()) {
        if (a !== b) await ip(['-n', `${p}-lan`, 'rule', 'add', 'pref', String(pref++), 'from', `10.${o}.${2 + a}.0/24`, 'to', `10.${o}.${2 + b}.0/24`, 'blackhole']);
      }
    }
  }

  async healLan(): Promise<void> {
    const { prefix: p, groups } = this.options;
    const count = groups.length * (groups.length - 1);
    for (let pref = 100; pref < 100 + count; pref++) await run('ip', ['-n', `${p}-lan`, 'rule', 'del', 'pref', String(pref)]);
  }

  /** Stops the uplink and removes every namespace and device of this venue. Processes in them are killed. */
  async close(): Promise<void> {
    await this.uplink.close();
    await VenueNetwork.clean(this.options.prefix);
  }

  /**
   * Removes what a run with `prefix` left behind (a killed test file): kills the processes still running in its
   * namespaces (`ip netns pids`: only what was started there), deletes the namespaces (their devices go with them)
   * and the management veths and routes in this namespace.
   */
  static async clean(prefix: string): Promise<void> {
    const { output } = await run('ip', ['netns', 'list']);
    const stale = output
      .split('\n')
      .map((line) => line.split(' ')[0]!)
      .filter((name) => name.startsWith(`${prefix}-`));
    for (const ns of stale) {
      const pids = (await run('ip', ['netns', 'pids', ns])).output.split('\n').map(Number).filter((pid) => Number.isInteger(pid) && pid > 0);
      for (const pid of pids) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
      await ip(['netns', 'delete', ns]);
    }
    // Deleting one end of a veth deletes its peer; routes through it go with it.
    for (const dev of [`${prefix}mh`, `${prefix}ml`]) await run('ip', ['link', 'delete', dev]);
  }
}

async function sysctl(netns: string, key: string, value: string): Promise<void> {
  const { code, output } = await run('ip', ['netns', 'exec', netns, 'sh', '-c', `echo ${value} > /proc/sys/${key.replaceAll('.', '/')}`]);
  if (code !== 0) throw new Error(`sysctl ${key}=${value} in ${netns}: ${output}`);
}

/** A veth pair between two namespaces (undefined: this one), each end with an optional address, both up. */
async function veth(a: string, aNetns: string | undefined, aAddress: string | undefined, b: string, bNetns: string, bAddress: string | undefined): Promise<void> {
  await ip(['link', 'add', a, ...(aNetns ? ['netns', aNetns] : []), 'type', 'veth', 'peer', 'name', b, 'netns', bNetns]);
  const nsArgs = (ns: string | undefined) => (ns ? ['-n', ns] : []);
  for (const [dev, ns, address] of [
    [a, aNetns, aAddress],
    [b, bNetns, bAddress],
  ] as const) {
    if (address) await ip([...nsArgs(ns), 'addr', 'add', address, 'dev', dev]);
    await ip([...nsArgs(ns), 'link', 'set', dev, 'up']);
  }
}
