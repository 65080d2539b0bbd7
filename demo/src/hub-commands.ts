import WebSocket from 'ws';

/**
 * One WebSocket to the hub's `/ws` for sending commands as one token (a moderator, an attendee, a booth), answered
 * in order of their ids. The demo seeds polls, questions, votes and leads through the same commands the console and
 * the audience page send.
 * @example const mod = await HubCommands.open('ws://127.0.0.1:8080/ws', token); await mod.send('poll.create', {...}); mod.close();
 */
export class HubCommands {
  #next = 0;
  readonly #waiting = new Map<string, { resolve: (result: unknown) => void; reject: (error: Error) => void }>();

  private constructor(private readonly socket: WebSocket) {
    socket.on('message', (data) => {
      let frame: { op?: string; id?: string; result?: unknown; code?: string; message?: string };
      try {
        frame = JSON.parse(data.toString()) as typeof frame;
      } catch {
        return;
      }
      const waiter = frame.id === undefined ? undefined : this.#waiting.get(frame.id);
      if (!waiter || (frame.op !== 'ok' && frame.op !== 'err')) return;
      this.#waiting.delete(frame.id!);
      if (frame.op === 'ok') waiter.resolve(frame.result);
      else waiter.reject(new CommandRefused(frame.code ?? 'internal', frame.message ?? ''));
    });
    socket.on('close', () => {
      for (const w of this.#waiting.values()) w.reject(new Error('the hub closed the socket'));
      this.#waiting.clear();
    });
  }

  static open(url: string, token: string): Promise<HubCommands> {
    const socket = new WebSocket(`${url}?token=${encodeURIComponent(token)}`);
    return new Promise((resolve, reject) => {
      socket.once('open', () => resolve(new HubCommands(socket)));
      socket.once('error', reject);
    });
  }

  send<T = unknown>(name: string, args: Record<string, unknown>): Promise<T> {
    const id = String(++this.#next);
    return new Promise<T>((resolve, reject) => {
      this.#waiting.set(id, { resolve: resolve as (r: unknown) => void, reject });
      this.socket.send(JSON.stringify({ op: 'cmd', id, name, args }));
    });
  }

  close(): void {
    this.socket.close();
  }
}

/** The hub answered a command with `err`. */
export class CommandRefused extends Error {
  override readonly name = 'CommandRefused';
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(`${code}: ${message}`);
  }
}
