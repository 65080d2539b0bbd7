// @ts-check
/**
 * Shared pieces of the k6 scenarios: configuration from the environment, an opshub subscriber that checks seq
 * continuity and resumes with `since`, a publisher that sends `announce.send` at a steady rate, and the metrics.
 *
 * Latency here is publish→deliver as the hub stamps it: the frame's `ts` (set when the bus publishes) against the
 * VU's clock, so k6 must run on the hub's machine or on one with a synchronised clock.
 */
import http from 'k6/http';
import { Counter, Trend } from 'k6/metrics';
import { setInterval, clearInterval, setTimeout } from 'k6/timers';
import { WebSocket } from 'k6/websockets';

export const latency = new Trend('publish_to_deliver', true);
export const delivered = new Counter('messages_delivered');
export const lost = new Counter('messages_lost');
export const duplicated = new Counter('messages_duplicated');
export const published = new Counter('messages_published');
export const backAfterDrop = new Trend('time_back_after_drop', true);

/**
 * @typedef {object} Config
 * @property {string} http   the hub's base URL, e.g. http://127.0.0.1:8080
 * @property {string} ws     the hub's /ws URL
 * @property {string} token  an admin token (`npm run token -- --role admin --event '*'`)
 * @property {string} event  the event the scenario creates and uses
 */

/**
 * Reads HUB, TOKEN and EVENT from the environment (`k6 run -e HUB=http://127.0.0.1:8080 -e TOKEN=… script.js`).
 * @param {string} [hub] a URL overriding HUB
 * @returns {Config}
 */
export function config(hub) {
  const base = (hub ?? __ENV.HUB ?? 'http://127.0.0.1:8080').replace(/\/$/, '');
  const token = __ENV.TOKEN;
  if (!token) throw new Error("set TOKEN to an admin token: npm run token -- --role admin --event '*'");
  return { http: base, ws: `${base.replace(/^http/, 'ws')}/ws`, token, event: __ENV.EVENT ?? 'k6' };
}

/**
 * Creates events (idempotent: an existing event answers 409 and is fine).
 * @param {Config} cfg
 * @param {string[]} ids
 */
export function createEvents(cfg, ids) {
  for (const id of ids) {
    const res = http.post(`${cfg.http}/api/v1/events`, JSON.stringify({ id, name: `k6 ${id}`, zones: [], gates: [] }), {
      headers: { authorization: `Bearer ${cfg.token}`, 'content-type': 'application/json' },
    });
    if (res.status !== 201 && res.status !== 409) throw new Error(`creating event ${id}: HTTP ${res.status} ${res.body}`);
  }
}

/**
 * The hub's resident memory from /metrics (prom-client's process metrics), in bytes.
 * @param {Config} cfg
 * @returns {number}
 */
export function hubRss(cfg) {
  const res = http.get(`${cfg.http}/metrics`);
  const match = /^opshub_process_resident_memory_bytes (\d+(?:\.\d+)?(?:e\+\d+)?)$/m.exec(String(res.body));
  if (!match) throw new Error('no opshub_process_resident_memory_bytes in /metrics');
  return Number(match[1]);
}

/**
 * @typedef {object} SubscriberOptions
 * @property {number} holdMs         how long to stay subscribed
 * @property {string[]} [failover]   hub /ws URLs to resume on, in turn, when the connection drops
 * @property {Record<string, string>} [tags]
 */

/**
 * Subscribes to `topic` and records every message: latency, and seq continuity (a jump is loss, a repeat a
 * duplicate). When the connection drops it resumes on the next failover URL with `since` = the last seq seen.
 * @param {string} wsUrl
 * @param {string} token
 * @param {string} topic
 * @param {SubscriberOptions} options
 */
export function subscribe(wsUrl, token, topic, options) {
  let lastSeq = 0;
  let droppedAt = 0;
  let done = false;
  /** @type {WebSocket | undefined} */
  let current;
  const urls = [wsUrl, ...(options.failover ?? [])];
  /** @param {number} attempt */
  const connect = (attempt) => {
    const url = urls[Math.min(attempt, urls.length - 1)];
    const ws = new WebSocket(`${url}?token=${encodeURIComponent(token)}`, null, { tags: options.tags ?? {} });
    current = ws;
    ws.onopen = () => ws.send(JSON.stringify(lastSeq > 0 ? { op: 'sub', topic, since: lastSeq, id: 1 } : { op: 'sub', topic, id: 1 }));
    ws.onmessage = (event) => {
      const frame = JSON.parse(String(event?.data));
      if (frame.op === 'ok' && frame.id === 1 && droppedAt > 0) {
        backAfterDrop.add(Date.now() - droppedAt, options.tags);
        droppedAt = 0;
      }
      if (frame.op !== 'msg') return;
      latency.add(Date.now() - frame.ts, options.tags);
      delivered.add(1, options.tags);
      if (lastSeq > 0 && frame.seq > lastSeq + 1) lost.add(frame.seq - lastSeq - 1, options.tags);
      if (lastSeq > 0 && frame.seq <= lastSeq) duplicated.add(1, options.tags);
      else lastSeq = frame.seq;
    };
    ws.onclose = () => {
      if (done) return;
      if (droppedAt === 0) droppedAt = Date.now();
      // Without failover URLs a dropped subscriber stays down; with them it keeps trying the last one.
      if (options.failover) setTimeout(() => connect(attempt + 1), 100 + Math.random() * 100);
    };
  };
  connect(0);
  setTimeout(() => {
    done = true;
    current?.close();
  }, options.holdMs);
}

/**
 * Sends `announce.send` for `event` at `rate` per second (at most 40: the hub allows 50 frames/s per connection)
 * for `durationMs`, over one connection.
 * @param {string} wsUrl
 * @param {string} token
 * @param {string} event
 * @param {number} rate
 * @param {number} durationMs
 */
export function publish(wsUrl, token, event, rate, durationMs) {
  const ws = new WebSocket(`${wsUrl}?token=${encodeURIComponent(token)}`);
  let n = 0;
  ws.onopen = () => {
    const timer = setInterval(() => {
      ws.send(JSON.stringify({ op: 'cmd', id: ++n, name: 'announce.send', args: { event, text: `k6 ${n}`, level: 'info' } }));
      published.add(1);
    }, 1000 / Math.min(rate, 40));
    setTimeout(() => {
      clearInterval(timer);
      ws.close();
    }, durationMs);
  };
}
