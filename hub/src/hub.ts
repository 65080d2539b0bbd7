import type { TemplatedApp, us_listen_socket } from 'uWebSockets.js';
import type { Analytics } from './analytics/analytics.ts';
import type { TokenVerifier } from './auth/token-verifier.ts';
import type { Bus } from './bus/bus.ts';
import { CommandRouter } from './commands/command-router.ts';
import type { Logger } from './log.ts';
import { HubMetrics } from './metrics.ts';
import { loadNativeUws } from './native-uws.ts';
import { registerAnnouncementRoutes } from './rest/announcement-routes.ts';
import { registerEventRoutes } from './rest/event-routes.ts';
import { registerOpsRoutes } from './rest/ops-routes.ts';
import { registerRootPage } from './rest/root-page.ts';
import type { Store } from './store/store.ts';
import { announcementsStream } from './streams/announcements.ts';
import { TopicRelay } from './topics/topic-relay.ts';
import { defaultWsLimits, WsEndpoint, type WsLimits } from './transport/ws-endpoint.ts';

export interface Backends {
  readonly bus: Bus;
  readonly store: Store;
  readonly analytics: Analytics;
}

export interface HubOptions {
  readonly backends: Backends;
  readonly verifier: TokenVerifier;
  readonly log: Logger;
  readonly host?: string;
  /** 0 picks a free port (tests) */
  readonly port: number;
  readonly wsLimits?: Partial<WsLimits>;
}

/**
 * One hub process: the uWS app with its endpoints, over backends it starts and closes.
 *
 * Shutdown order (SIGTERM): stop accepting, close sockets, drain analytics, close backends. Every write a client
 * was told succeeded is already in the Store, so nothing acknowledged is lost.
 * @example const hub = new Hub({ backends, verifier, log, port: 0 }); const { port } = await hub.start();
 */
export class Hub {
  readonly metrics: HubMetrics;
  readonly #app: TemplatedApp;
  readonly #ws: WsEndpoint;
  #listenSocket: us_listen_socket | undefined;
  #port = 0;
  #closing: Promise<void> | undefined;

  constructor(private readonly options: HubOptions) {
    const uws = loadNativeUws();
    const { backends, verifier, log } = options;
    const { bus, store, analytics } = backends;
    this.metrics = new HubMetrics({ bus, analytics });
    this.#app = uws.App();

    const announcements = announcementsStream({ bus, store, analytics });
    const router = new CommandRouter({ ...announcements.commands });
    const relay = new TopicRelay(bus, this.#app, {
      delivered: (subscribers, lagMs) => {
        this.metrics.framesOut.inc(subscribers);
        this.metrics.publishToDeliver.observe(lagMs / 1000);
      },
    });
    this.#ws = new WsEndpoint({
      verifier,
      relay,
      router,
      metrics: this.metrics,
      log: log.child({ module: 'ws' }),
      limits: { ...defaultWsLimits, ...options.wsLimits },
    });
    this.#ws.attach(this.#app);
    const onStatus = (status: number) => this.metrics.httpRequests.inc({ status: String(status) });
    registerOpsRoutes(this.#app, { ...backends, metrics: this.metrics, log });
    registerEventRoutes(this.#app, { store, verifier, log, onStatus });
    registerAnnouncementRoutes(this.#app, { store, verifier, log, onStatus });
    registerRootPage(this.#app, { log });
  }

  get port(): number {
    return this.#port;
  }

  get connections(): number {
    return this.#ws.connectionCount;
  }

  /** Starts the backends (migrations, analytics tables), then listens. */
  async start(): Promise<{ port: number }> {
    const { bus, store, analytics } = this.options.backends;
    await store.start();
    await bus.start();
    await analytics.start();
    const uws = loadNativeUws();
    this.#listenSocket = await new Promise<us_listen_socket>((resolve, reject) => {
      this.#app.listen(this.options.host ?? '0.0.0.0', this.options.port, (socket) =>
        socket ? resolve(socket) : reject(new Error(`cannot listen on ${this.options.host ?? '0.0.0.0'}:${this.options.port}`)),
      );
    });
    this.#port = uws.us_socket_local_port(this.#listenSocket as never);
    this.options.log.info({ port: this.#port, bus: bus.kind, store: store.kind, analytics: analytics.kind }, 'hub listening');
    return { port: this.#port };
  }

  /** Idempotent, ordered shutdown. */
  close(): Promise<void> {
    this.#closing ??= this.#shutdown();
    return this.#closing;
  }

  async #shutdown(): Promise<void> {
    const uws = loadNativeUws();
    const { bus, store, analytics } = this.options.backends;
    if (this.#listenSocket) uws.us_listen_socket_close(this.#listenSocket);
    this.#listenSocket = undefined;
    this.#ws.closeAll();
    await analytics.close().catch((err: unknown) => this.options.log.error({ err }, 'analytics did not close cleanly'));
    await bus.close().catch((err: unknown) => this.options.log.error({ err }, 'bus did not close cleanly'));
    await store.close().catch((err: unknown) => this.options.log.error({ err }, 'store did not close cleanly'));
    this.options.log.info('hub stopped');
  }
}
