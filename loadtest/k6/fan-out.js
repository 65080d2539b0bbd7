// @ts-check
/**
 * fan-out: SUBSCRIBERS (default 5,000) on one topic while publishers ramp the message rate up; the thresholds are
 * the bench's budget (p99 publish→deliver ≤ 50 ms, nothing lost). Read the rate where p99 crosses 50 ms off the
 * time series (k6 run --out csv=… or a dashboard).
 *
 *   npm start   # in another terminal; then, with the hub's admin token:
 *   k6 run -e TOKEN=$(npm run -s token -- --role admin --event '*') loadtest/k6/fan-out.js
 *
 * Environment: HUB (http://127.0.0.1:8080), TOKEN, EVENT (k6), SUBSCRIBERS (5000), PUBLISHERS (10, each 20 msg/s
 * at the top of the ramp), DURATION (60s).
 */
import { config, createEvents, publish, subscribe } from './lib/opshub.js';

const subscribers = Number(__ENV.SUBSCRIBERS ?? 5000);
const publishers = Number(__ENV.PUBLISHERS ?? 10);
const seconds = parseInt(__ENV.DURATION ?? '60', 10);

/** @type {import('k6/options').Options} */
export const options = {
  scenarios: {
    subscribers: { executor: 'per-vu-iterations', vus: subscribers, iterations: 1, maxDuration: `${seconds + 30}s`, exec: 'subscriber' },
    publishers: {
      executor: 'ramping-vus',
      exec: 'publisher',
      startTime: '10s',
      startVUs: 1,
      stages: [{ duration: `${seconds - 10}s`, target: publishers }],
      gracefulRampDown: '0s',
    },
  },
  thresholds: {
    publish_to_deliver: ['p(50)<10', 'p(99)<50'],
    messages_lost: ['count==0'],
  },
};

export function setup() {
  const cfg = config();
  createEvents(cfg, [cfg.event]);
  return cfg;
}

/** @param {ReturnType<typeof config>} cfg */
export function subscriber(cfg) {
  subscribe(cfg.ws, cfg.token, `event/${cfg.event}/announcements`, { holdMs: seconds * 1000 });
}

/** @param {ReturnType<typeof config>} cfg */
export function publisher(cfg) {
  publish(cfg.ws, cfg.token, cfg.event, 20, 5000);
}
