// @ts-check
/**
 * idle-memory: CONNECTIONS (default 10,000) authenticated connections, each subscribed to the event's
 * announcements, holding still; a probe reads the hub's RSS from /metrics before and once all are connected and
 * reports `rss_per_connection_bytes`.
 *
 *   k6 run -e TOKEN=$(npm run -s token -- --role admin --event '*') loadtest/k6/idle-memory.js
 *
 * Environment: HUB, TOKEN, EVENT, CONNECTIONS (10000), RAMP (30s to open them), HOLD (30s). Raise the open-file
 * limit (ulimit -n) on both ends first.
 */
import { Gauge } from 'k6/metrics';
import { config, createEvents, hubRss, subscribe } from './lib/opshub.js';

const connections = Number(__ENV.CONNECTIONS ?? 10_000);
const ramp = parseInt(__ENV.RAMP ?? '30', 10);
const hold = parseInt(__ENV.HOLD ?? '30', 10);
const perConnection = new Gauge('rss_per_connection_bytes');

/** @type {import('k6/options').Options} */
export const options = {
  scenarios: {
    connections: {
      executor: 'ramping-arrival-rate',
      exec: 'idle',
      startRate: Math.ceil(connections / ramp),
      timeUnit: '1s',
      preAllocatedVUs: connections,
      stages: [{ duration: `${ramp}s`, target: Math.ceil(connections / ramp) }],
    },
    probe: { executor: 'shared-iterations', exec: 'probe', vus: 1, iterations: 1, startTime: `${ramp + Math.floor(hold / 2)}s` },
  },
  thresholds: { rss_per_connection_bytes: ['value<4096'] },
};

export function setup() {
  const cfg = config();
  createEvents(cfg, [cfg.event]);
  return { cfg, rssBefore: hubRss(cfg) };
}

/** @param {{ cfg: ReturnType<typeof config> }} data */
export function idle(data) {
  subscribe(data.cfg.ws, data.cfg.token, `event/${data.cfg.event}/announcements`, { holdMs: (hold + ramp) * 1000 });
}

/** @param {{ cfg: ReturnType<typeof config>, rssBefore: number }} data */
export function probe(data) {
  perConnection.add((hubRss(data.cfg) - data.rssBefore) / connections);
}
