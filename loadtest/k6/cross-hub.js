// @ts-check
/**
 * cross-hub: two hubs on one Redis (REDIS_URL set on both), SUBSCRIBERS (1,000) split between them, a publisher on
 * hub A. Latency is tagged `hub: a | b`, so p50{hub:b} − p50{hub:a} is what the second hop adds. While it runs,
 * `kill -9` hub B: its subscribers resume on hub A with `since` = the last seq they saw; `time_back_after_drop`
 * is how long that took, and `messages_lost` / `messages_duplicated` must stay 0.
 *
 *   REDIS_URL=redis://127.0.0.1:6379 PORT=8080 DATA_DIR=./data-a npm start     # hub A
 *   REDIS_URL=redis://127.0.0.1:6379 PORT=8081 DATA_DIR=./data-b HUB_JWT_SECRET=… npm start   # hub B, same secret
 *   k6 run -e HUB_A=http://127.0.0.1:8080 -e HUB_B=http://127.0.0.1:8081 -e TOKEN=… loadtest/k6/cross-hub.js
 */
import { config, createEvents, publish, subscribe } from './lib/opshub.js';

const subscribers = Number(__ENV.SUBSCRIBERS ?? 1000);
const seconds = parseInt(__ENV.DURATION ?? '60', 10);

/** @type {import('k6/options').Options} */
export const options = {
  scenarios: {
    onA: { executor: 'per-vu-iterations', exec: 'onA', vus: Math.ceil(subscribers / 2), iterations: 1, maxDuration: `${seconds + 30}s` },
    onB: { executor: 'per-vu-iterations', exec: 'onB', vus: Math.floor(subscribers / 2), iterations: 1, maxDuration: `${seconds + 30}s` },
    publisher: { executor: 'per-vu-iterations', exec: 'publisher', vus: 1, iterations: 1, startTime: '5s', maxDuration: `${seconds}s` },
  },
  thresholds: {
    'publish_to_deliver{hub:a}': ['p(99)<50'],
    'publish_to_deliver{hub:b}': ['p(99)<50'],
    messages_lost: ['count==0'],
    messages_duplicated: ['count==0'],
  },
};

export function setup() {
  const a = config(__ENV.HUB_A);
  const b = config(__ENV.HUB_B ?? 'http://127.0.0.1:8081');
  // Each hub may run its own embedded store: the event must exist on both for the publisher's commands.
  createEvents(a, [a.event]);
  createEvents(b, [b.event]);
  return { a, b };
}

/** @typedef {{ a: ReturnType<typeof config>, b: ReturnType<typeof config> }} Hubs */

/** @param {Hubs} hubs */
export function onA(hubs) {
  subscribe(hubs.a.ws, hubs.a.token, `event/${hubs.a.event}/announcements`, { holdMs: seconds * 1000, tags: { hub: 'a' } });
}

/** @param {Hubs} hubs */
export function onB(hubs) {
  subscribe(hubs.b.ws, hubs.b.token, `event/${hubs.b.event}/announcements`, { holdMs: seconds * 1000, failover: [hubs.a.ws], tags: { hub: 'b' } });
}

/** @param {Hubs} hubs */
export function publisher(hubs) {
  publish(hubs.a.ws, hubs.a.token, hubs.a.event, 20, (seconds - 10) * 1000);
}
