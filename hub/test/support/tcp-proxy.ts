import { type Socket, connect, createServer } from 'node:net';

/**
 * A TCP proxy in front of a real server, to give one client a real outage without touching the server that
 * other tests share: `cut()` resets every proxied connection and refuses new ones until `restore()`. `retarget()`
 * points it at a restarted server on another port, so a browser keeps one origin across a hub restart.
 *
 * @example
 * const proxy = await TcpProxy.start('127.0.0.1', 6379);
 * const bus = new RedisBus({ url: `redis://127.0.0.1:${proxy.port}` });
 */
export class TcpProxy {
  readonly #sockets = new Set<Socket>();
  #cut = false;
  readonly #server = createServer((client) => this.#accept(client));

  private constructor(
    private readonly targetHost: string,
    private targetPort: number,
  ) {}

  static async start(host: string, port: number): Promise<TcpProxy> {
    const proxy = new TcpProxy(host, port);
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
    const upstream = connect(this.targetPort, this.targetHost);
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
