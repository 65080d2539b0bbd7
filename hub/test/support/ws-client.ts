import WebSocket from 'ws';

export interface Frame {
  op: string;
  [key: string]: unknown;
}

/**
 * A real `ws` client that records every frame, so tests await what they expect instead of sleeping.
 * @example const c = await TestClient.connect(url, token); c.send({ op: 'ping' }); await c.next((f) => f.op === 'pong');
 */
export class TestClient {
  readonly frames: Frame[] = [];
  readonly closed: Promise<{ code: number; reason: string }>;
  #waiters: { match: (f: Frame) => boolean; resolve: (f: Frame) => void; reject: (e: Error) => void; from: number }[] = [];
  #closedWith: { code: number; reason: string } | undefined;

  private constructor(readonly socket: WebSocket) {
    this.closed = new Promise((resolve) =>
      socket.on('close', (code, reason) => {
        this.#closedWith = { code, reason: reason.toString() };
        // Nothing more can arrive: fail whoever still waits now, with the close, instead of at their timeout.
        for (const w of this.#waiters.splice(0)) w.reject(this.#closedError());
        resolve(this.#closedWith);
      }),
    );
    socket.on('message', (data) => {
      const frame = JSON.parse(data.toString()) as Frame;
      this.frames.push(frame);
      this.#waiters = this.#waiters.filter((w) => {
        if (!w.match(frame)) return true;
        w.resolve(frame);
        return false;
      });
    });
  }

  static connect(url: string, token?: string, headers: Record<string, string> = {}): Promise<TestClient> {
    const full = token ? `${url}${url.includes('?') ? '&' : '?'}token=${encodeURIComponent(token)}` : url;
    const socket = new WebSocket(full, { headers, maxPayload: 256 * 1024 * 1024 });
    return new Promise((resolve, reject) => {
      socket.once('open', () => resolve(new TestClient(socket)));
      socket.once('unexpected-response', (_req, res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString()));
        res.on('end', () => reject(Object.assign(new Error(`HTTP ${res.statusCode}: ${body}`), { status: res.statusCode, body })));
      });
      socket.once('error', reject);
    });
  }

  send(frame: unknown): void {
    this.socket.send(typeof frame === 'string' ? frame : JSON.stringify(frame));
  }

  /** The first frame (already received, or still to come) matching `match`, at or after index `from`. */
  next(match: (f: Frame) => boolean, timeoutMs = 5000, from = 0): Promise<Frame> {
    const seen = this.frames.slice(from).find(match);
    if (seen) return Promise.resolve(seen);
    if (this.#closedWith) return Promise.reject(this.#closedError());
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no matching frame within ${timeoutMs} ms; last frames: ${JSON.stringify(this.frames.slice(-3))}`)), timeoutMs);
      this.#waiters.push({ match, from, resolve: (f) => (clearTimeout(timer), resolve(f)), reject: (e) => (clearTimeout(timer), reject(e)) });
    });
  }

  #closedError(): Error {
    return new Error(`socket closed (${this.#closedWith?.code} ${this.#closedWith?.reason}) before a matching frame; last frames: ${JSON.stringify(this.frames.slice(-3))}`);
  }

  /** Sends a command and resolves with its `ok` or `err` answer. */
  async command(name: string, args: Record<string, unknown>, id: string = `c${Math.random().toString(36).slice(2)}`): Promise<Frame> {
    this.send({ op: 'cmd', id, name, args });
    // A generous bound: on a loaded 2-core CI machine a command's transaction can wait behind a burst of others.
    return this.next((f) => (f.op === 'ok' || f.op === 'err') && f.id === id, 15_000);
  }

  /** Subscribes and resolves once the hub confirms (the opshub `id` extension of `sub`). */
  async subscribe(topic: string, since?: number): Promise<Frame> {
    const id = `s${Math.random().toString(36).slice(2)}`;
    this.send(since === undefined ? { op: 'sub', topic, id } : { op: 'sub', topic, since, id });
    return this.next((f) => (f.op === 'ok' || f.op === 'err') && f.id === id, 15_000);
  }

  messages(topic: string): Frame[] {
    return this.frames.filter((f) => f.op === 'msg' && f.topic === topic);
  }

  close(): Promise<{ code: number; reason: string }> {
    this.socket.close();
    return this.closed;
  }
}
