import { connect, createServer, type Socket } from 'node:net';

/**
 * A TCP proxy whose upstream can change: the browser keeps one origin (so its session and URL stay) while the hub
 * behind it is replaced by a restarted process on a new port. `cut()` resets every connection and refuses new ones
 * until `restore()`.
 * @example const proxy = await SwitchableProxy.start(hub.port); proxy.cut(); proxy.retarget(newHub.port); proxy.restore();
 */
export class SwitchableProxy {
  readonly #sockets = new Set<Socket>();
  readonly #server = createServer((client) => this.#accept(client));
  #cut = false;

  private constructor(private targetPort: number) {}

  static async start(targetPort: number): Promise<SwitchableProxy> {
    const proxy = new SwitchableProxy(targetPort);
    await new Promise<void>((resolve) => proxy.#server.listen(0, '127.0.0.1', resolve));
    return proxy;
  }

  get port(): number {
    return (this.#server.address() as { port: number }).port;
  }

  retarget(port: number): void {
    this.targetPort = port;
  }

  cut(): void {
    this.#cut = true;
    for (const socket of this.#sockets) socket.resetAndDestroy();
    this.#sockets.clear();
  }

  restore(): void {
    this.#cut = false;
  }

  async close(): Promise<void> {
    this.cut();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  #accept(client: Socket): void {
    if (this.#cut) {
      client.resetAndDestroy();
      return;
    }
    const upstream = connect(this.targetPort, '127.0.0.1');
    for (const [socket, other] of [
      [client, upstream],
      [upstream, client],
    ] as const) {
      this.#sockets.add(socket);
      socket.on('error', () => other.destroy());
      socket.on('close', () => {
        this.#sockets.delete(socket);
        other.destroy();
      });
    }
    client.pipe(upstream).pipe(client);
  }
}
