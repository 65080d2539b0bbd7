import type { TemplatedApp, us_listen_socket } from 'uWebSockets.js';
import type { Analytics } from './analytics/analytics.ts';
import { OutboxRelay, type OutboxRelayOptions } from './analytics/outbox-relay.ts';
import type { TokenVerifier } from './auth/token-verifier.ts';
import type { Bus } from './bus/bus.ts';
import { CommandRouter } from './commands/command-router.ts';
import type { Logger } from './log.ts';
import { HubMetrics } from './metrics.ts';
import { loadNativeUws } from './native-uws.ts';
import { registerAnnouncementRoutes } from './rest/announcement-routes.ts';
import { registerEngagementRoutes } from './rest/engagement-routes.ts';
import { registerConsoleAssets } from './rest/console-assets.ts';
import { registerEventRoutes } from './rest/event-routes.ts';
import { registerDirectivesRoutes } from './rest/directives-routes.ts';
import { directivesStream, type DirectivesStream } from './streams/directives/directives-stream.ts';
import { registerGateRoutes } from './rest/gate-routes.ts';
import { registerMeshRoutes } from './rest/mesh-routes.ts';
import { registerRevocationRoutes } from './rest/revocation-routes.ts';
import { RevocationList, revocationChecked } from './auth/revocation-list.ts';
import { SessionGuard } from './transport/session-guard.ts';
import { registerJoinRoutes } from './rest/join-routes.ts';
import { registerLeadsRoutes } from './rest/leads-routes.ts';
import { registerAnalyticsRoutes } from './rest/analytics-routes.ts';
import { warmOccupancy } from './analytics/dashboards/warm-up.ts';
import type { OccupancyDeltas } from './analytics/dashboards/occupancy-deltas.ts';
import { registerBoxOfficeRoutes } from './rest/box-office-routes.ts';
import { boxOfficeStream } from './streams/box-office/box-office-stream.ts';
import { stripeGateway } from './streams/box-office/stripe-gateway.ts';
import type { StripeConfig } from './config.ts';
import { registerPushRoutes } from './rest/push-routes.ts';
import { registerSessionsRoutes } from './rest/sessions-routes.ts';
import { registerTicketRoutes } from './rest/ticket-routes.ts';
import { registerAuditRoutes } from './rest/audit-routes.ts';
import { registerPairingRoutes } from './rest/pairing-routes.ts';
import { ReplicaHost } from './replicas/replica-host.ts';
import { capacityStream } from './streams/capacity/capacity-stream.ts';
import { checkinsStream } from './streams/checkins/checkins-stream.ts';
import { gateHealth } from './streams/gates/gate-health.ts';
import { gatesStream } from './streams/gates/gates-stream.ts';
import { YjsEndpoint } from './transport/yjs-endpoint.ts';
import { registerOpsRoutes } from './rest/ops-routes.ts';
import { StoreHealth } from './store/store-health.ts';
import type { Store } from './store/store.ts';
import { announcementsStream } from './streams/announcements/announcements-stream.ts';
import { gateScreenViews } from './streams/announcements/gate-screen-views.ts';
import { ScreenViews } from './streams/announcements/screen-views.ts';
import { chatStream } from './streams/chat/chat-stream.ts';
import { EventWordFilters } from './streams/chat/event-word-filters.ts';
import { pollsStream } from './streams/polls/polls-stream.ts';
import { qaStream } from './streams/qa/qa-stream.ts';
import { pushStream, type PushService, type PushSettings } from './streams/push/push-stream.ts';
import { ephemeralPushSettings } from './streams/push/push-settings.ts';
import { SessionReminders } from './streams/sessions/session-reminders.ts';
import { SessionOverflow } from './streams/sessions/session-overflow.ts';
import { leadsStream } from './streams/leads/leads-stream.ts';
import { storeSponsorLinks } from './streams/leads/sponsor-links.ts';
import { TopicRelay } from './topics/topic-relay.ts';
import { defaultWsLimits, WsEndpoint, type WsLimits } from './transport/ws-endpoint.ts';
import { TrustedProxies } from './transport/client-address.ts';
import { routeTableOf, type RouteEntry } from './transport/route-table.ts';
import { registerUnrouted } from './transport/unrouted.ts';
import { PortInUseError, portIsFree, someoneListens } from './startup/port-probe.ts';
import { randomBytes } from 'node:crypto';
import { trustForwardedPeer } from './transport/forwarded-peer.ts';
import { SocketWorkers } from './workers/socket-workers.ts';
import type { WorkerAuth } from './workers/worker-protocol.ts';

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
  /** reverse proxies whose `X-Forwarded-For` names the client for per-client limits (`TRUSTED_PROXIES`); none by default */
  readonly trustedProxies?: readonly string[];
  /** Stripe for the box office (`STRIPE_*`); without a secret key the box office sells for cash only */
  readonly stripe?: StripeConfig;
  /** web push: VAPID keys, allowed origins, concurrency (main.ts: `pushSettings(config)`); tests: a throwaway key pair */
  readonly push?: PushSettings;
  /** `GATE_OFFLINE_AFTER` in ms (default 30 s): a gate gone this long raises `gate_offline` */
  readonly gateOfflineAfterMs?: number;
  /** `GATE_STALLED_AFTER` in ms (default 60 s): an online gate whose pending scans do not drain this long raises `gate_stalled` */
  readonly gateStalledAfterMs?: number;
  /** the analytics outbox relay's tuning (main.ts: retention from `ANALYTICS_OUTBOX_RETENTION_HOURS`); defaults otherwise */
  readonly analyticsRelay?: Omit<OutboxRelayOptions, 'store' | 'analytics' | 'log'>;
  /**
   * `HUB_WORKERS` > 1: that many worker threads serve the public port (socket I/O and fan-out on every core), with
   * the parameters of `verifier` so they can refuse a bad token before the upgrade. Absent or 1: one thread, as ever.
   */
  readonly workers?: { readonly count: number; readonly auth: WorkerAuth };
  /** byte bounds of the topic relay's rings, as of replay history (`HUB_REPLAY_TOPIC_MB`, `HUB_REPLAY_BUDGET_MB`); defaults otherwise */
  readonly replay?: { readonly topicBytes: number; readonly budgetBytes: number };
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
  /** ships the Store's analytics outbox to this hub's ClickHouse (see `analytics/outbox-relay.ts`) */
  readonly analyticsRelay: OutboxRelay;
  readonly #app: TemplatedApp;
  readonly #ws: WsEndpoint;
  readonly #yjs: YjsEndpoint;
  readonly #replicas: ReplicaHost;
  readonly #checkins: ReturnType<typeof checkinsStream>;
  readonly #capacity: ReturnType<typeof capacityStream>;
  readonly #gates: ReturnType<typeof gatesStream>;
  /** web push: announcements, session news and answers to subscribed browsers (see streams/push/push-stream.ts) */
  readonly push: PushService;
  /** "about to start" pushes for the agenda's sessions */
  readonly sessionReminders: SessionReminders;
  /** overflow rooms: a session's full room redirects its gates (streams/sessions/session-overflow.ts) */
  readonly sessionOverflow: SessionOverflow;
  /** engagement streams with coalesced publishes to drain at shutdown */
  readonly #engagement: readonly { close(): Promise<void> }[];
  /** the control room's levers: gate states and zone door policies (issue 12) */
  readonly directives: DirectivesStream;
  readonly #revocations: RevocationList;
  /** the zone heatmaps' paired scan history, warmed at start */
  readonly #occupancy: OccupancyDeltas;
  readonly #sessions = new SessionGuard();
  #listenSocket: us_listen_socket | undefined;
  /** with HUB_WORKERS > 1: the socket workers on the public port (this thread's app then listens on loopback for them) */
  readonly #workers: SocketWorkers | undefined;
  #port = 0;
  #closing: Promise<void> | undefined;
  #draining = false;
  /** whether the Store answers, for /healthz and the store gauge */
  readonly #storeHealth: StoreHealth;

  constructor(private readonly options: HubOptions) {
    const uws = loadNativeUws();
    const { backends, log } = options;
    const { bus, store, analytics } = backends;
    // Sessions end with their tokens: every route and upgrade checks the revocation list, and open sockets are
    // closed (4401) when their token expires or a revocation reaches this hub.
    this.#revocations = new RevocationList({ store, bus, log: log.child({ module: 'revocations' }) });
    const verifier = revocationChecked(options.verifier, this.#revocations);
    const revocations = this.#revocations;
    this.#revocations.onRevoked(() => this.#sessions.endWhere((claims) => revocations.covers(claims), 'token revoked'));
    this.analyticsRelay = new OutboxRelay({ ...options.analyticsRelay, store, analytics, log: log.child({ module: 'analytics-relay' }) });
    this.#storeHealth = new StoreHealth(store, { log: log.child({ module: 'store-health' }) });
    const storeHealth = this.#storeHealth;
    this.metrics = new HubMetrics({ bus, analytics, relay: this.analyticsRelay, store, storeHealthy: () => storeHealth.isHealthy() });
    this.#app = uws.App();

    // The gates: replicas of each event's gate doc, served on /yjs, deriving check-ins, capacity and presence.
    this.#replicas = new ReplicaHost({ store, bus, log: log.child({ module: 'replicas' }), onOpenDocs: (n) => this.metrics.yjsDocsOpen.set(n) });
    this.#capacity = capacityStream({ store, bus, replicas: this.#replicas, log: log.child({ module: 'capacity' }), onEvaluated: (event, zones) => void this.sessionOverflow.check(event, zones) });
    this.#checkins = checkinsStream({ store, bus, log: log.child({ module: 'checkins' }), onOccupancyChange: (r) => this.#capacity.changed(r) });
    this.#gates = gatesStream({ bus, log: log.child({ module: 'gates' }), health: gateHealth({ store, bus, log: log.child({ module: 'gate-health' }), offlineAfterMs: options.gateOfflineAfterMs ?? 30_000, stalledAfterMs: options.gateStalledAfterMs ?? 60_000 }) });
    this.#replicas.listen(this.#checkins.listener);
    this.#replicas.listen(this.#gates.listener);

    // Web push runs beside the streams: they hand it announcements, answers and session news once their own work is done.
    const pushLog = log.child({ module: 'push' });
    this.push = pushStream({ store, bus, log: pushLog, metrics: this.metrics, settings: options.push ?? ephemeralPushSettings() });
    const push = this.push;
    this.sessionReminders = new SessionReminders({ store, push, log: pushLog });
    const queuePush = (what: string, queued: Promise<string>) => void queued.catch((err: unknown) => pushLog.error({ err, what }, 'push not queued'));
    const directives = directivesStream({ store, bus, replicas: this.#replicas, log: log.child({ module: 'directives' }) });
    this.directives = directives;
    // Every screen that shows an announcement reports it; gate screens through their agent's presence (issue 12).
    const announceLog = log.child({ module: 'announcements' });
    const views = new ScreenViews({ store, bus, log: announceLog });
    this.#replicas.listen(gateScreenViews({ views, log: announceLog }));
    const announcements = announcementsStream({ bus, store, log: announceLog, directives, replicas: this.#replicas, views, onSent: (message) => queuePush('announcement', push.announce(message)) });
    // Polls, Q&A and chat share one cache of compiled word filters (chat's list also screens questions and word clouds).
    const filters = new EventWordFilters();
    const polls = pollsStream({ bus, store, filters, log: log.child({ module: 'polls' }) });
    const qa = qaStream({
      bus,
      store,
      filters,
      log: log.child({ module: 'qa' }),
      onAnswered: (event, question) =>
        queuePush(
          'answer',
          push.toAttendee(event, question.author, {
            kind: 'answer',
            ref: question.id,
            title: 'Your question was answered',
            body: question.text,
            url: `/live/${encodeURIComponent(event)}/${encodeURIComponent(question.session)}#questions`,
            tag: `answer-${question.id}`,
          }),
        ),
    });
    const chat = chatStream({ bus, store, filters });
    this.#engagement = [polls, qa, views];
    const leads = leadsStream({ bus, store });
    // A sponsor's access to its exhibitors' leads is a Store lookup (the `linked` rule in auth/permissions.ts).
    const links = storeSponsorLinks(store);
    // A session's room at capacity redirects its gates to the overflow room (issue 17), with the directives above.
    this.sessionOverflow = new SessionOverflow({ store, directives, push, occupancy: (event) => this.#capacity.zonesOf(event), log: log.child({ module: 'session-overflow' }) });
    const router = new CommandRouter({ ...directives.commands, ...announcements.commands, ...this.#capacity.commands, ...polls.commands, ...qa.commands, ...chat.commands, ...leads.commands }, bus);
    const limits = { ...defaultWsLimits, ...options.wsLimits };
    const workers = options.workers && options.workers.count > 1 ? new SocketWorkers({ ...options.workers, limits, hopSecret: randomBytes(24).toString('base64url'), log: log.child({ module: 'workers' }) }) : undefined;
    this.#workers = workers;
    this.#revocations.onRevoked(({ kind, value, revokedAt }) => workers?.revoked([{ kind, value, revokedAt }]));
    const relay = new TopicRelay(
      bus,
      workers ? workers.publisher(this.#app) : this.#app,
      {
        delivered: (subscribers, lagMs) => {
          this.metrics.framesOut.inc(subscribers);
          this.metrics.publishToDeliver.observe(lagMs / 1000);
        },
      },
      options.replay && { ringBytes: options.replay.topicBytes, budgetBytes: options.replay.budgetBytes },
    );
    this.#ws = new WsEndpoint({
      verifier,
      relay,
      router,
      metrics: this.metrics,
      log: log.child({ module: 'ws' }),
      limits,
      links,
      sessions: this.#sessions,
      revoked: workers ? (claims) => revocations.covers(claims) : undefined,
    });
    this.#ws.attach(this.#app);
    if (workers) {
      workers.serve(this.#ws);
      trustForwardedPeer(this.#app, workers.hopSecret);
    }

    this.#yjs = new YjsEndpoint({ verifier, host: this.#replicas, metrics: this.metrics, log: log.child({ module: 'yjs' }), sessions: this.#sessions });
    this.#yjs.attach(this.#app);
    const onStatus = (status: number) => this.metrics.httpRequests.inc({ status: String(status) });
    registerOpsRoutes(this.#app, { ...backends, metrics: this.metrics, log, draining: () => this.#draining, storeHealthy: () => storeHealth.isHealthy() });
    registerEventRoutes(this.#app, { store, verifier, log, onStatus, replicas: this.#replicas });
    registerGateRoutes(this.#app, { store, bus, verifier, log, onStatus, replicas: this.#replicas });
    registerDirectivesRoutes(this.#app, { store, verifier, directives, log, onStatus });
    registerMeshRoutes(this.#app, { store, verifier, log, onStatus });
    registerRevocationRoutes(this.#app, { verifier, revocations: this.#revocations, log, onStatus });
    registerTicketRoutes(this.#app, { store, verifier, log, onStatus, replicas: this.#replicas });
    registerAuditRoutes(this.#app, { store, verifier, log, onStatus });
    registerPairingRoutes(this.#app, { store, verifier, revocations: this.#revocations, log, onStatus });
    registerAnnouncementRoutes(this.#app, { store, verifier, log, onStatus });
    registerEngagementRoutes(this.#app, { store, bus, verifier, log, onStatus });
    registerJoinRoutes(this.#app, { store, verifier, log, onStatus, proxies: new TrustedProxies(options.trustedProxies) });
    registerLeadsRoutes(this.#app, { store, bus, verifier, links, log, onStatus });
    this.#occupancy = registerAnalyticsRoutes(this.#app, { store, analytics, relay: this.analyticsRelay, verifier, log, onStatus }).occupancy;
    const stripe = options.stripe ?? { secretKey: undefined, webhookSecret: undefined, apiUrl: undefined };
    const boxOffice = boxOfficeStream({
      store,
      bus,
      replicas: this.#replicas,
      log: log.child({ module: 'box-office' }),
      payments: stripeGateway(stripe),
      webhooksConfigured: stripe.webhookSecret !== undefined,
    });
    registerBoxOfficeRoutes(this.#app, { store, bus, verifier, log, onStatus, boxOffice, webhookSecret: stripe.webhookSecret });
    registerPushRoutes(this.#app, { store, verifier, push, log, onStatus });
    registerSessionsRoutes(this.#app, { store, analytics, verifier, log, onStatus, onChanged: (event) => void this.sessionOverflow.check(event) });
    // Last: the console's `GET /*` only answers what no route above claimed.
    registerConsoleAssets(this.#app, { log, onStatus });
    // After everything: any method on a path nothing claimed gets 404, or 405 with `Allow`, instead of a closed socket.
    registerUnrouted(this.#app, { log, onStatus });
  }

  /** Every route this hub registered (method and uWS pattern), for the OpenAPI check and diagnostics. */
  get routes(): readonly RouteEntry[] {
    return routeTableOf(this.#app).entries;
  }

  get port(): number {
    return this.#port;
  }

  /** true when every scan this hub has seen has had its side effects derived (tests) */
  get checkinsIdle(): boolean {
    // Scans wait in the replicas' derivation queues (a turn or a few) before the check-ins stream sees them.
    return this.#replicas.derivationIdle && this.#checkins.idle();
  }

  get connections(): number {
    return this.#ws.connectionCount;
  }

  /**
   * Starts the backends (migrations, analytics tables), then listens. `progress` hears each step as it begins, so a
   * person watching a start that takes tens of seconds knows what it is waiting for.
   * @throws {PortInUseError} when something already listens on the port
   */
  async start(progress: (step: string) => void = () => {}): Promise<{ port: number }> {
    const { bus, store, analytics } = this.options.backends;
    progress(`opening the database (${store.kind}) and applying migrations`);
    await store.start();
    this.#storeHealth.start();
    progress(`connecting the bus (${bus.kind})`);
    await bus.start();
    await this.#revocations.start();
    progress(`starting analytics (${analytics.kind})`);
    await analytics.start();
    // In the background: the live path never waits for ClickHouse, and a hub starts while its ClickHouse is down.
    this.analyticsRelay.start();
    // Also in the background: the first zone heatmap of a busy event is then served from paired history.
    void warmOccupancy({ store, analytics, occupancy: this.#occupancy, relay: this.analyticsRelay, log: this.options.log }).catch((err: unknown) =>
      this.options.log.debug({ err }, 'analytics: warming the occupancy history failed; the first heatmap pairs it instead'),
    );
    await this.push.start();
    this.sessionReminders.start();
    this.sessionOverflow.start();
    progress(`listening on port ${this.options.port}`);
    const uws = loadNativeUws();
    const workers = this.#workers;
    if (workers) {
      // This thread serves REST and /yjs to its workers on loopback; the public port is theirs.
      this.#listenSocket = (await this.#bind('127.0.0.1', 0)) || undefined;
      if (!this.#listenSocket) throw new Error('could not listen on a loopback port for the socket workers');
      await workers.start(uws.us_socket_local_port(this.#listenSocket as never), this.#revocations.entries());
      this.#port = await this.#listen((host, port) => workers.listen(host, port));
    } else {
      this.#port = await this.#listen(async (host, port) => {
        const socket = await this.#bind(host, port);
        this.#listenSocket = socket || undefined;
        return socket ? uws.us_socket_local_port(socket as never) : false;
      });
    }
    this.options.log.info({ port: this.#port, workers: this.options.workers?.count ?? 1, bus: bus.kind, store: store.kind, analytics: analytics.kind }, 'hub listening');
    return { port: this.#port };
  }

  /**
   * Listens, refusing a port another server listens on, and retrying for a few seconds when the port is only held
   * for a moment: a hub restarted in place finds its port in TIME_WAIT, or briefly taken by a reconnecting gate's
   * outgoing socket. uWS itself binds with SO_REUSEPORT and would share the port with another hub without a word
   * (see `startup/port-probe.ts`).
   */
  async #listen(bind: (host: string, port: number) => Promise<number | false>): Promise<number> {
    const host = this.options.host ?? '0.0.0.0';
    const { port } = this.options;
    const deadline = Date.now() + (port === 0 ? 0 : 10_000);
    for (;;) {
      const free = port === 0 || (await portIsFree(host, port));
      if (!free && (await someoneListens(host, port))) throw new PortInUseError(host, port);
      if (free) {
        const bound = await bind(host, port);
        if (bound !== false) return bound;
      }
      if (Date.now() >= deadline) throw new PortInUseError(host, port);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }

  #bind(host: string, port: number): Promise<us_listen_socket | false> {
    return new Promise((resolve) => this.#app.listen(host, port, resolve));
  }

  /**
   * Takes this hub out of a load balancer's rotation before it stops: `/healthz` answers 503 "draining" from now on
   * while every socket and route keeps working, so the balancer's health check sends new clients elsewhere first.
   */
  beginDrain(): void {
    this.#draining = true;
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
    this.#storeHealth.close();
    this.#ws.closeAll();
    this.#yjs.closeAll();
    // Workers carry out the closes queued above, stop listening and exit.
    await this.#workers?.close();
    this.#sessions.close();
    await this.#revocations.close();
    // An overflow look in progress finishes while the replicas it writes directives into are still open.
    await this.sessionOverflow.close();
    // Doc updates that entered through this hub are written before the Store closes; derived side effects that did
    // not finish are re-derived from the stored scans when the doc next loads.
    await this.#replicas.close().catch((err: unknown) => this.options.log.error({ err }, 'replicas did not close cleanly'));
    this.#checkins.close();
    this.#capacity.close();
    this.#gates.close();
    // Live poll results and upvote counts still owed go out while the bus and Store are open.
    await Promise.all(this.#engagement.map((s) => s.close().catch((err: unknown) => this.options.log.error({ err }, 'engagement did not drain cleanly'))));
    // Pushes in flight finish (briefly) and are recorded; what is left is sent by another hub, or after a restart.
    await this.sessionReminders.close();
    await this.push.close().catch((err: unknown) => this.options.log.error({ err }, 'push did not close cleanly'));
    // What the relay has not shipped stays in the outbox for the next holder of the lease (or this hub's restart).
    // A graceful stop ships what was committed (bounded: a ClickHouse that is down leaves it in the outbox for the
    // next start), so analytics read right after a SIGTERM are whole.
    await this.analyticsRelay.drain(10_000).catch((err: unknown) => this.options.log.warn({ err }, 'analytics relay not drained before stop; the outbox keeps the rest'));
    await this.analyticsRelay.close().catch((err: unknown) => this.options.log.error({ err }, 'analytics relay did not close cleanly'));
    await analytics.close().catch((err: unknown) => this.options.log.error({ err }, 'analytics did not close cleanly'));
    await bus.close().catch((err: unknown) => this.options.log.error({ err }, 'bus did not close cleanly'));
    await store.close().catch((err: unknown) => this.options.log.error({ err }, 'store did not close cleanly'));
    this.options.log.info('hub stopped');
  }
}
