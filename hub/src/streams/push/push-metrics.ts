import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

/**
 * The push sender's Prometheus metrics, registered on the hub's registry (`/metrics`). Per hub process: with several
 * hubs, sum across them. Documented in docs/api.md, "Metrics".
 */
export class PushMetrics {
  /** push requests this hub made, by what the push service said (`accepted`, `expired`, `retry`, `failed`) */
  readonly requests: Counter<'outcome'>;
  /** deliveries this hub finished without a request: the subscription was gone, or the push out of time */
  readonly skipped: Counter<'reason'>;
  /** request round trip to the push service */
  readonly requestSeconds: Histogram;
  /** pushes (announcements, session news, answers) this hub queued, by kind */
  readonly queued: Counter<'kind'>;
  /** subscriptions stored or changed, and removed (by the owner, or because the push service said 404/410) */
  readonly subscriptions: Counter<'change'>;
  /** requests in flight from this hub */
  readonly inFlight: Gauge;

  constructor(registry: Registry, queueDepth: () => Promise<number>) {
    const registers = [registry];
    this.requests = new Counter({ name: 'opshub_push_requests_total', help: 'Web push requests sent by this hub, by the push service\'s answer', labelNames: ['outcome'], registers });
    this.skipped = new Counter({ name: 'opshub_push_skipped_total', help: 'Deliveries finished without a request (subscription gone, push out of time, endpoint no longer allowed)', labelNames: ['reason'], registers });
    this.requestSeconds = new Histogram({
      name: 'opshub_push_request_seconds',
      help: 'Web push request round trip to the push service',
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    });
    this.queued = new Counter({ name: 'opshub_push_jobs_total', help: 'Pushes queued by this hub (one per announcement, session news or answer)', labelNames: ['kind'], registers });
    this.subscriptions = new Counter({ name: 'opshub_push_subscription_changes_total', help: 'Push subscriptions stored (subscribe) or removed (unsubscribe, expired)', labelNames: ['change'], registers });
    this.inFlight = new Gauge({ name: 'opshub_push_in_flight', help: 'Web push requests in flight from this hub', registers });
    new Gauge({
      name: 'opshub_push_queue_depth',
      help: 'Deliveries owed across all hubs (queued, waiting for a retry, or in flight), read from the Store at scrape time',
      registers,
      async collect() {
        this.set(await queueDepth().catch(() => Number.NaN));
      },
    });
  }
}
