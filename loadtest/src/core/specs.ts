/**
 * The RPC contracts between the driver and its child processes. Both server entries (opshub and the baseline)
 * implement {@link ServerSpec}; the client worker implements {@link ClientSpec}.
 */

/** Where a server publishes: `channel` names a topic suffix (`checkins`, `chat/r7`): opshub publishes to
 * `event/{event}/{channel}`, socket.io emits to the room `{channel}`. */
export interface ChannelRate {
  readonly channel: string;
  /** messages per second */
  readonly rate: number;
}

export interface PublishPlan {
  readonly channels: readonly ChannelRate[];
  readonly durationMs: number;
  readonly payloadBytes: number;
}

export interface PublishReport {
  /** per channel, the last `n` published so far (counters continue across plans) */
  readonly last: Record<string, number>;
  readonly published: number;
  readonly elapsedMs: number;
  /** publishes that ran more than 5 ms after their scheduled time */
  readonly late: number;
  readonly loopDelayMs: { readonly p50: number; readonly p99: number; readonly max: number };
  /** CPU time / wall time over the plan (1 = one core busy) */
  readonly cpu: number;
  /** of `cpu`, the part spent in the kernel (system time): on loopback, both ends of every TCP send */
  readonly cpuSystem: number;
}

export interface ServerStats {
  readonly rss: number;
  readonly heapUsed: number;
  readonly external: number;
  readonly connections: number;
  /**
   * What the server's own start-up added, by part, in bytes (opshub: RSS grown while PGlite opened, while chDB
   * started, measured around each step of `Hub.start`); absent for servers with no such parts.
   */
  readonly startup?: Readonly<Record<string, number>>;
}

/**
 * What the parts of a server hold now, in bytes (opshub: `pgliteWasm` and `pgliteHeap` from the PGlite worker,
 * `chdb` as chDB's own memory tracker counts it); empty for servers with no such parts.
 */
export type MemoryParts = Readonly<Record<string, number>>;

export type ServerSpec = {
  publish: { arg: PublishPlan; result: PublishReport };
  stats: { arg: { gc: boolean }; result: ServerStats };
  parts: { arg: Record<string, never>; result: MemoryParts };
  heapSnapshot: { arg: { file: string }; result: { file: string } };
  /** graceful shutdown; the process exits right after answering */
  close: { arg: Record<string, never>; result: Record<string, never> };
};

/** What a server announces once it listens. */
export interface ServerReady {
  readonly port: number;
  readonly pid: number;
}

/**
 * `y-websocket`, `hocuspocus`: the gate-partition peers; no client worker connects to them (the scenario drives them).
 * `uws`: the limit column, reached by the opshub subscribers.
 */
export type TargetName = 'opshub' | 'socketio' | 'y-websocket' | 'hocuspocus' | 'uws';

/** A set of identical client connections: same server, same channel. */
export interface ConnectionGroup {
  /** results are reported per label (cross-hub: `local` and `remote`) */
  readonly label: string;
  readonly count: number;
  readonly channel: string;
  /** opshub: ws://host:port/ws; socket.io: http://host:port */
  readonly url: string;
  /** where the group reconnects when its server goes away (none: connections stay closed) */
  readonly failoverUrl?: string;
}

/**
 * The client a socket.io subscriber runs on: socket.io-client (what a team would use, the default), or the bench's
 * lean client speaking the socket.io protocol itself, the same client cost opshub's subscribers have.
 */
export type SocketioClient = 'socket.io-client' | 'lean';

export interface ConnectPlan {
  readonly target: TargetName;
  /** socket.io targets only; socket.io-client when absent */
  readonly socketioClient?: SocketioClient;
  readonly event: string;
  readonly token: string;
  readonly groups: readonly ConnectionGroup[];
  /** connection attempts in flight at once */
  readonly concurrency: number;
  /** source addresses on 127.0.0.0/8, used round-robin so ephemeral ports never run short */
  readonly localAddresses: readonly string[];
}

export interface ConnectReport {
  readonly connected: number;
  readonly failed: number;
  readonly ms: number;
  readonly errors: readonly string[];
}

export interface GroupReport {
  readonly received: number;
  /** histogram counts (see LatencyHistogram) */
  readonly counts: Float64Array;
  /** messages skipped in a connection's sequence */
  readonly gaps: number;
  /** messages seen twice */
  readonly duplicates: number;
}

export interface WindowReport {
  readonly groups: Record<string, GroupReport>;
  readonly cpu: number;
  readonly wallMs: number;
  /** connections closed by the other side during the window */
  readonly closed: number;
  /** connections open (and subscribed) now */
  readonly open: number;
}

export interface DrainReport {
  readonly complete: boolean;
  /** connections that have not seen the last message yet */
  readonly behind: number;
  /** messages those connections are still missing */
  readonly missing: number;
  /** of the connections behind, those closed for good: what they miss is lost */
  readonly deadMissing: number;
}

export interface RecoveryReport {
  /** connections that lost their server */
  readonly dropped: number;
  /** of those, the ones subscribed again (on the failover server) */
  readonly back: number;
  /** ms from `sinceMs` until each dropped connection was subscribed again, sorted */
  readonly backMs: readonly number[];
  /** ms from `sinceMs` until each dropped connection noticed (the server process's teardown), sorted */
  readonly droppedMs: readonly number[];
  /** of those back, the ones that missed nothing and got nothing twice, through to the last message */
  readonly complete: number;
  /** socket.io: connections whose session the server recovered (connection-state recovery) */
  readonly recovered: number;
}

export type ClientSpec = {
  connect: { arg: ConnectPlan; result: ConnectReport };
  /** starts a measurement window: clears histograms and counters */
  reset: { arg: Record<string, never>; result: Record<string, never> };
  /** waits until every open connection of the channel has seen message `n` */
  drain: { arg: { until: Record<string, number>; timeoutMs: number }; result: DrainReport };
  collect: { arg: Record<string, never>; result: WindowReport };
  recovery: { arg: { sinceMs: number; until: Record<string, number> }; result: RecoveryReport };
  /** reconnects connections that were closed (no failover) so the next ramp starts at full strength */
  heal: { arg: Record<string, never>; result: ConnectReport };
  close: { arg: Record<string, never>; result: Record<string, never> };
};
