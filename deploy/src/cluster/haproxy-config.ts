/**
 * The HAProxy configuration for hubs on this machine: WebSocket upgrades pass through (HTTP mode tunnels them after
 * the 101), `/healthz` decides which hubs get new clients, and a hub that answers 503 (its bus is down, or it is
 * draining after a SIGTERM) leaves the rotation within about a second while its open sockets stay until it closes them.
 */
export interface HaproxyHub {
  readonly name: string;
  readonly host: string;
  readonly port: number;
}

export interface HaproxyConfigOptions {
  /** where clients connect */
  readonly listen: { readonly host: string; readonly port: number };
  readonly hubs: readonly HaproxyHub[];
  /** the admin socket (`show servers state`), for tests and operators */
  readonly statsSocket: string;
}

/**
 * @example haproxyConfig({ listen: { host: '0.0.0.0', port: 8080 }, hubs: [{ name: 'hub-1', host: '127.0.0.1', port: 8101 }], statsSocket: '/tmp/h.sock' })
 */
export function haproxyConfig(options: HaproxyConfigOptions): string {
  const servers = options.hubs.map((hub) => `  server ${hub.name} ${hub.host}:${hub.port} check`);
  return [
    'global',
    // No global maxconn: HAProxy derives it from the file-descriptor limit it was started with (ulimit -n).
    `  stats socket ${options.statsSocket} mode 600 level admin`,
    '',
    'defaults',
    '  mode http',
    '  timeout connect 5s',
    '  timeout client 60s',
    '  timeout server 60s',
    // A WebSocket is a tunnel once upgraded: idle sockets of the control room must not be cut at 60 s.
    '  timeout tunnel 1h',
    '  timeout client-fin 5s',
    '  timeout http-request 10s',
    // The hubs count per-client limits against X-Forwarded-For when this proxy is in TRUSTED_PROXIES.
    '  option forwardfor',
    // A request that could not reach a hub (it died a moment ago) goes to another one instead of failing.
    '  retries 3',
    '  option redispatch 1',
    '  retry-on conn-failure empty-response',
    '',
    'frontend opshub',
    `  bind ${options.listen.host}:${options.listen.port}`,
    '  default_backend hubs',
    '',
    'backend hubs',
    // Long-lived sockets make round robin uneven over time; least connections keeps the hubs level after restarts.
    '  balance leastconn',
    '  log global',
    '  option log-health-checks',
    // HTTP/1.1 with a Host header: uWebSockets.js leaves HAProxy's default HTTP/1.0 check without Host unanswered.
    '  option httpchk',
    '  http-check send meth GET uri /healthz ver HTTP/1.1 hdr Host opshub',
    '  http-check expect status 200',
    // A busy hub (a roster import, a surge) may take a moment to answer: a slow answer is not a failure, three 503s
    // in a row are. A draining hub leaves after about 3 s (2 s to the first check, then two more at 500 ms).
    '  timeout check 5s',
    '  default-server inter 2s fastinter 500ms downinter 1s fall 3 rise 2',
    // Which hub answered: for operators reading a response, and for the tests.
    '  http-response set-header X-Opshub-Hub %s',
    ...servers,
    '',
  ].join('\n');
}
