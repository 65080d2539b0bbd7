import WebSocket from 'ws';

/** One time a client's socket closed under it, and when every one of its topics was subscribed again. */
export interface Outage {
  readonly closedAt: number;
  backAt?: number;
}

interface Frame {
  op: string;
  id?: string;
  topic?: string;
  seq?: number;
  code?: string;
  message?: string;
  result?: { seq?: number } & Record<string, unknown>;
  data?: Record<string, unknown>;
}

/**
 * A client as the console and the audience page behave: one socket through the load balancer's URL, every topic
 * resumed with `since` = the last seq it saw after any drop, reconnecting (100–300 ms apart) until it is stopped.
 * It keeps the books the chaos drill reads: per topic, messages missing between two seqs it saw (lost), seqs it saw
 * twice (duplicated), `reset`s; each outage and when it was back; which hub served it (HAProxy's X-Opshub-Hub).
 */
export class ResumingClient {
  readonly lastSeq = new Map<string, number>();
  /** messages skipped over, per topic: a seq that jumped ahead of last + 1 */
  readonly lost = new Map<string, number>();
  /** messages seen again: a seq at or below the last one */
  readonly duplicated = new Map<string, number>();
  readonly resets: string[] = [];
  readonly outages: Outage[] = [];
  /** every message frame's data, per topic, in arrival order (for the chat ids the drill checks) */
  readonly received = new Map<string, Record<string, unknown>[]>();
  /** the hub behind each connection, in order */
  readonly servedBy: string[] = [];
  /** frames and failures the books do not cover, for a failure's message */
  readonly notes: string[] = [];
  #socket: WebSocket | undefined;
  #open = false;
  #stopped = false;
  readonly #waiters = new Map<string, (frame: Frame | undefined) => void>();
  #ids = 0;

  constructor(
    readonly name: string,
    private readonly url: string,
    private readonly token: string,
    readonly topics: readonly string[],
    private readonly keep: (topic: string) => boolean = () => false,
  ) {}

  /** Connects and resolves once every topic is subscribed (retrying until `timeoutMs`). */
  async start(timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!(await this.#connect())) {
      if (Date.now() > deadline) throw new Error(`${this.name}: not connected within ${timeoutMs} ms: ${this.notes.slice(-3).join('; ')}`);
      await sleep(200);
    }
  }

  /** True while the socket is open and every topic subscribed. */
  get connected(): boolean {
    return this.#open;
  }

  get via(): string {
    return this.servedBy.at(-1) ?? '?';
  }

  /**
   * Sends a command and resolves with its `ok` or `err`, or undefined when the socket is not open, closes first, or
   * no answer comes within `timeoutMs` (the command may or may not have been applied: it was not acknowledged).
   */
  command(name: string, args: Record<string, unknown>, timeoutMs = 10_000): Promise<Frame | undefined> {
    const socket = this.#socket;
    if (!this.#open || socket === undefined) return Promise.resolve(undefined);
    const id = `${this.name}-${++this.#ids}`;
    return new Promise((resolve) => {
      const timer = setTimeout(() => settle(undefined), timeoutMs);
      const settle = (frame: Frame | undefined) => {
        clearTimeout(timer);
        this.#waiters.delete(id);
        resolve(frame);
      };
      this.#waiters.set(id, settle);
      socket.send(JSON.stringify({ op: 'cmd', id, name, args }));
    });
  }

  stop(): void {
    this.#stopped = true;
    this.#socket?.terminate();
  }

  /** One connection attempt: true once every topic is subscribed on it. */
  async #connect(): Promise<boolean> {
    if (this.#stopped) return false;
    const socket = new WebSocket(`${this.url}?token=${encodeURIComponent(this.token)}`);
    this.#socket = socket;
    const opened = await new Promise<boolean>((resolve) => {
      socket.once('open', () => resolve(true));
      socket.once('error', (error) => (this.#note(`error ${error.message}`), resolve(false)));
      // HAProxy's 503 while no hub is in rotation (or a hub's 503 during its start): ws leaves the request to us.
      socket.once('unexpected-response', (request, res) => {
        this.#note(`upgrade answered ${res.statusCode}`);
        request.destroy();
        resolve(false);
      });
      socket.once('upgrade', (res) => this.servedBy.push(String(res.headers['x-opshub-hub'] ?? '?')));
    });
    if (!opened) {
      socket.terminate();
      return false;
    }
    socket.on('message', (raw) => this.#onFrame(JSON.parse(raw.toString()) as Frame));
    socket.once('close', (code) => {
      const wasOpen = this.#open;
      this.#open = false;
      for (const settle of [...this.#waiters.values()]) settle(undefined);
      if (this.#stopped || this.#socket !== socket) return;
      this.#note(`closed ${code}`);
      // A socket that closes before its subscriptions were answered is retried by whoever was connecting it.
      if (!wasOpen) return;
      this.outages.push({ closedAt: Date.now() });
      void this.#reconnect();
    });
    const answers = await Promise.all(
      this.topics.map((topic) => {
        const since = this.lastSeq.get(topic);
        const id = `sub-${++this.#ids}`;
        return new Promise<Frame | undefined>((resolve) => {
          const timer = setTimeout(() => (this.#waiters.delete(id), resolve(undefined)), 15_000);
          this.#waiters.set(id, (frame) => (clearTimeout(timer), this.#waiters.delete(id), resolve(frame)));
          socket.send(JSON.stringify(since === undefined ? { op: 'sub', topic, id } : { op: 'sub', topic, since, id }));
        });
      }),
    );
    if (socket.readyState !== WebSocket.OPEN) return false;
    const failed = answers.find((a) => a?.op !== 'ok');
    if (failed !== undefined || answers.length !== this.topics.length) {
      this.#note(`sub failed: ${JSON.stringify(failed)}`);
      socket.terminate();
      return false;
    }
    answers.forEach((answer, i) => {
      const topic = this.topics[i]!;
      // A first subscription starts the books at the topic's current seq; messages that came before the answer count.
      if (!this.lastSeq.has(topic) && typeof answer!.result?.seq === 'number') this.lastSeq.set(topic, answer!.result.seq);
    });
    this.#open = true;
    const outage = this.outages.at(-1);
    if (outage && outage.backAt === undefined) outage.backAt = Date.now();
    return true;
  }

  async #reconnect(): Promise<void> {
    while (!this.#stopped) {
      await sleep(100 + Math.random() * 200);
      if (await this.#connect()) return;
    }
  }

  #onFrame(frame: Frame): void {
    if ((frame.op === 'ok' || frame.op === 'err') && frame.id !== undefined) {
      this.#waiters.get(frame.id)?.(frame);
      return;
    }
    if (frame.op === 'reset' && frame.topic !== undefined) {
      this.resets.push(`${frame.topic}@${frame.seq}`);
      if (frame.seq !== undefined) this.lastSeq.set(frame.topic, frame.seq);
      return;
    }
    if (frame.op !== 'msg' || frame.topic === undefined || frame.seq === undefined) {
      if (frame.op !== 'pong') this.#note(`frame ${JSON.stringify(frame).slice(0, 160)}`);
      return;
    }
    const { topic, seq } = frame;
    const last = this.lastSeq.get(topic);
    if (last !== undefined && seq <= last) {
      this.duplicated.set(topic, (this.duplicated.get(topic) ?? 0) + 1);
      return;
    }
    if (last !== undefined && seq > last + 1) this.lost.set(topic, (this.lost.get(topic) ?? 0) + (seq - last - 1));
    this.lastSeq.set(topic, seq);
    if (this.keep(topic)) {
      const list = this.received.get(topic) ?? [];
      list.push(frame.data ?? {});
      this.received.set(topic, list);
    }
  }

  #note(line: string): void {
    this.notes.push(`${new Date().toISOString().slice(11, 23)} ${line}`);
    if (this.notes.length > 40) this.notes.shift();
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export function sum(map: ReadonlyMap<string, number>): number {
  let total = 0;
  for (const value of map.values()) total += value;
  return total;
}
