import type { SocketLike } from '../../src/lib/live/live-connection.ts';

/**
 * A WebSocket stand-in for unit tests of the live layer: records what the console sends and lets the test play the
 * hub's side frame by frame.
 */
export class FakeSocket implements SocketLike {
  readyState = 0;
  onopen: ((event: unknown) => void) | null = null;
  onmessage: ((event: { data: unknown }) => void) | null = null;
  onclose: ((event: { code: number; reason: string }) => void) | null = null;
  onerror: ((event: unknown) => void) | null = null;
  readonly sent: Record<string, unknown>[] = [];
  closedWith: number | undefined;

  constructor(readonly url: string) {}

  send(data: string): void {
    this.sent.push(JSON.parse(data) as Record<string, unknown>);
  }

  close(code = 1000): void {
    this.closedWith = code;
    this.readyState = 3;
  }

  // ---- the hub's side ----
  open(): void {
    this.readyState = 1;
    this.onopen?.({});
  }

  frame(frame: Record<string, unknown>): void {
    this.onmessage?.({ data: JSON.stringify(frame) });
  }

  msg(topic: string, seq: number, data: unknown = { n: seq }): void {
    this.frame({ op: 'msg', topic, seq, ts: 1_700_000_000_000 + seq, data });
  }

  drop(code = 1006, reason = ''): void {
    this.readyState = 3;
    this.onclose?.({ code, reason });
  }

  /** The `sub` frames sent so far. */
  subs(): { topic: string; since?: number; epoch?: string; id: string }[] {
    return this.sent.filter((f) => f.op === 'sub') as never;
  }

  lastSub(): { topic: string; since?: number; epoch?: string; id: string } {
    const subs = this.subs();
    const last = subs[subs.length - 1];
    if (!last) throw new Error('no sub frame sent');
    return last;
  }
}

/** Hands out fake sockets and lets a test run animation frames by hand. */
export class FakeBrowser {
  readonly sockets: FakeSocket[] = [];
  #frames: (() => void)[] = [];

  readonly createSocket = (url: string): FakeSocket => {
    const socket = new FakeSocket(url);
    this.sockets.push(socket);
    return socket;
  };

  readonly frameHost = {
    requestAnimationFrame: (callback: () => void): number => this.#frames.push(callback),
    cancelAnimationFrame: (handle: number): void => {
      this.#frames[handle - 1] = () => {};
    },
  };

  get socket(): FakeSocket {
    const s = this.sockets[this.sockets.length - 1];
    if (!s) throw new Error('no socket created');
    return s;
  }

  /** Runs the pending animation frames (what a real browser does ~60 times a second). */
  animationFrame(): void {
    const frames = this.#frames;
    this.#frames = [];
    for (const f of frames) f();
  }
}
