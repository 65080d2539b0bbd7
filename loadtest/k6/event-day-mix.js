// @ts-check
/**
 * event-day mix: ROOMS (50) topics × PER_ROOM (100) subscribers at 1 msg/s each, plus DASHBOARDS (2,000) on one
 * busy topic at 10 msg/s. Each topic is an event's announcements (the stream every hub has); the busy one is
 * event `{EVENT}-0`. Latency is tagged `kind: room | dashboard`.
 *
 *   k6 run -e TOKEN=$(npm run -s token -- --role admin --event '*') loadtest/k6/event-day-mix.js
 *
 * Watch the hub's event-loop lag meanwhile: `opshub_nodejs_eventloop_lag_p99_seconds` on /metrics.
 */
import exec from 'k6/execution';
import { config, createEvents, publish, subscribe } from './lib/opshub.js';

const rooms = Number(__ENV.ROOMS ?? 50);
const perRoom = Number(__ENV.PER_ROOM ?? 100);
const dashboards = Number(__ENV.DASHBOARDS ?? 2000);
const seconds = parseInt(__ENV.DURATION ?? '60', 10);

/** @type {import('k6/options').Options} */
export const options = {
  scenarios: {
    rooms: { executor: 'per-vu-iterations', exec: 'room', vus: rooms * perRoom, iterations: 1, maxDuration: `${seconds + 30}s` },
    dashboards: { executor: 'per-vu-iterations', exec: 'dashboard', vus: dashboards, iterations: 1, maxDuration: `${seconds + 30}s` },
    roomPublishers: { executor: 'per-vu-iterations', exec: 'roomPublisher', vus: rooms, iterations: 1, startTime: '10s', maxDuration: `${seconds}s` },
    busyPublisher: { executor: 'per-vu-iterations', exec: 'busyPublisher', vus: 1, iterations: 1, startTime: '10s', maxDuration: `${seconds}s` },
  },
  thresholds: {
    'publish_to_deliver{kind:room}': ['p(99)<50'],
    'publish_to_deliver{kind:dashboard}': ['p(99)<50'],
    messages_lost: ['count==0'],
  },
};

/** @param {ReturnType<typeof config>} cfg @param {number} i */
const eventId = (cfg, i) => `${cfg.event}-${i}`;

export function setup() {
  const cfg = config();
  createEvents(cfg, Array.from({ length: rooms + 1 }, (_, i) => eventId(cfg, i)));
  return cfg;
}

/** @param {ReturnType<typeof config>} cfg */
export function room(cfg) {
  const i = 1 + (exec.scenario.iterationInTest % rooms);
  subscribe(cfg.ws, cfg.token, `event/${eventId(cfg, i)}/announcements`, { holdMs: seconds * 1000, tags: { kind: 'room' } });
}

/** @param {ReturnType<typeof config>} cfg */
export function dashboard(cfg) {
  subscribe(cfg.ws, cfg.token, `event/${eventId(cfg, 0)}/announcements`, { holdMs: seconds * 1000, tags: { kind: 'dashboard' } });
}

/** @param {ReturnType<typeof config>} cfg */
export function roomPublisher(cfg) {
  publish(cfg.ws, cfg.token, eventId(cfg, 1 + (exec.scenario.iterationInTest % rooms)), 1, (seconds - 15) * 1000);
}

/** @param {ReturnType<typeof config>} cfg */
export function busyPublisher(cfg) {
  publish(cfg.ws, cfg.token, eventId(cfg, 0), 10, (seconds - 15) * 1000);
}
