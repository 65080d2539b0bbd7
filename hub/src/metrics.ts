import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Bus } from './bus/bus.ts';
import type { Analytics } from './analytics/analytics.ts';
import type { OutboxRelay } from './analytics/outbox-relay.ts';
import { countOpenAlertsByKind } from './store/repos/alerts-repo.ts';
import type { Store } from './store/store.ts';

/**
 * The hub's Prometheus metrics, on a registry of its own so several hubs can live in one process (tests, bench).
 * Counters on the hot path are plain `inc()` calls; gauges that mirror backend state are read at scrape time.
 */
export class HubMetrics {
  readonly registry = new Registry();
  readonly connections = new Gauge({ name: 'opshub_ws_connections', help: 'Open WebSocket connections', labelNames: ['endpoint'], registers: [this.registry] });
  readonly framesIn = new Counter({ name: 'opshub_ws_frames_in_total', help: 'Frames received from clients', registers: [this.registry] });
  readonly framesOut = new Counter({ name: 'opshub_ws_frames_out_total', help: 'Frames sent to clients (a topic publish counts once per subscriber)', registers: [this.registry] });
  readonly publishToDeliver = new Histogram({
    name: 'opshub_publish_deliver_seconds',
    help: 'Time from a publish (message ts) to handing the frame to local subscribers',
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
    registers: [this.registry],
  });
  readonly rejectedFrames = new Counter({ name: 'opshub_ws_frames_rejected_total', help: 'Client frames answered with err', labelNames: ['code'], registers: [this.registry] });
  readonly slowConsumers = new Counter({ name: 'opshub_ws_slow_consumer_disconnects_total', help: 'Sockets closed because their backpressure passed the bound', registers: [this.registry] });
  readonly closes = new Counter({ name: 'opshub_ws_closes_total', help: 'Closed sockets by close code', labelNames: ['code'], registers: [this.registry] });
  readonly httpRequests = new Counter({ name: 'opshub_http_requests_total', help: 'REST requests by status', labelNames: ['status'], registers: [this.registry] });
  readonly yjsDocsOpen = new Gauge({ name: 'opshub_yjs_docs_open', help: 'Yjs documents held in memory', registers: [this.registry] });

  constructor(sources: { bus: Bus; analytics: Analytics; relay?: Pick<OutboxRelay, 'stats'>; store?: Store; storeHealthy?: () => boolean }) {
    const { bus, analytics, relay, store, storeHealthy } = sources;
    collectDefaultMetrics({ register: this.registry, prefix: 'opshub_' });
    new Gauge({ name: 'opshub_bus_healthy', help: '1 when the bus backend answers', registers: [this.registry], collect() { this.set(bus.isHealthy() ? 1 : 0); } });
    if (storeHealthy) new Gauge({ name: 'opshub_store_healthy', help: '1 when the Store (PostgreSQL or PGlite) answers', registers: [this.registry], collect() { this.set(storeHealthy() ? 1 : 0); } });
    new Gauge({ name: 'opshub_bus_lag_seconds', help: 'Publisher ts to local receipt, last message', registers: [this.registry], collect() { this.set(bus.stats().lagMs / 1000); } });
    new Gauge({ name: 'opshub_bus_gaps_filled', help: 'Seq gaps noticed on receipt and filled from history', registers: [this.registry], collect() { this.set(bus.stats().gapsFilled); } });
    new Gauge({ name: 'opshub_analytics_queue_depth', help: 'Analytics events waiting to be inserted (the outbox backlog included)', registers: [this.registry], collect() { this.set(analytics.stats().queued + (relay?.stats().lagEvents ?? 0)); } });
    if (relay) {
      new Gauge({ name: 'opshub_analytics_outbox_lag_events', help: 'Outbox rows not yet in this hub\'s ClickHouse target (counted every few seconds, capped at a million)', registers: [this.registry], collect() { this.set(relay.stats().lagEvents); } });
      new Gauge({ name: 'opshub_analytics_outbox_lag_seconds', help: 'Age of the oldest outbox row not yet in ClickHouse; 0 when caught up', registers: [this.registry], collect() { this.set(relay.stats().lagSeconds); } });
      new Gauge({ name: 'opshub_analytics_relay_leader', help: '1 while this hub\'s relay holds the lease on its ClickHouse target', registers: [this.registry], collect() { this.set(relay.stats().leader ? 1 : 0); } });
      new Gauge({ name: 'opshub_analytics_relay_shipped', help: 'Outbox rows this hub\'s relay stored in ClickHouse since start', registers: [this.registry], collect() { this.set(relay.stats().shipped); } });
      new Gauge({ name: 'opshub_analytics_relay_failures', help: 'Failed relay steps (each retried with backoff)', registers: [this.registry], collect() { this.set(relay.stats().failures); } });
      new Gauge({ name: 'opshub_analytics_outbox_pruned', help: 'Outbox rows deleted past retention by this hub', registers: [this.registry], collect() { this.set(relay.stats().pruned); } });
    }
    if (store) {
      // Read from the Store, so every hub reports the deployment's figure (alert on max(), not sum()). The kinds an
      // operator pages on: gate_offline, gate_stalled, capacity, duplicate_admission, refunded_inside, …
      new Gauge({
        name: 'opshub_alerts_open',
        help: 'Open alerts of every event, by kind (from the Store: the same on every hub)',
        labelNames: ['kind'],
        registers: [this.registry],
        async collect() {
          const counts = await countOpenAlertsByKind(store.db).catch(() => undefined);
          if (!counts) return; // the Store is down: /healthz and the bus figures say so; keep the last figures
          this.reset();
          for (const { kind, open } of counts) this.set({ kind }, open);
        },
      });
    }
    new Gauge({ name: 'opshub_analytics_dropped', help: 'Analytics events dropped because the queue was full', registers: [this.registry], collect() { this.set(analytics.stats().dropped); } });
    new Gauge({ name: 'opshub_analytics_insert_failures', help: 'Failed analytics inserts (each retried)', registers: [this.registry], collect() { this.set(analytics.stats().failures); } });
  }

  /** Prometheus text exposition. */
  scrape(): Promise<string> {
    return this.registry.metrics();
  }
}
