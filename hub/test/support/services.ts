import { execFileSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { describe, it } from 'vitest';
import { postgresBinDir } from '@opshub/deploy/local/postgres-server';

/** The environment variables that point the contract suites at a real service. */
export type ServiceEnv = 'REDIS_URL' | 'DATABASE_URL' | 'CLICKHOUSE_URL';

/**
 * The service's URL from the environment, or undefined when unset or blank.
 * @example const url = serviceUrl('DATABASE_URL'); // 'postgres://postgres@127.0.0.1:5432/test'
 */
export function serviceUrl(name: ServiceEnv): string | undefined {
  const value = process.env[name]?.trim();
  return value ? value : undefined;
}

/**
 * A suite that needs a real service: runs when `name` is set; when it is not, the suite is skipped, or, when
 * `OPSHUB_REQUIRE_SERVICES` lists `name` (CI sets `DATABASE_URL,REDIS_URL`: the services every CI machine has),
 * fails with a test saying which variable is missing, so CI cannot go green by quietly skipping those suites.
 *
 * @example
 * describeWithService('DATABASE_URL', 'Store on PostgreSQL', (url) => {
 *   storeContract('postgres', () => new PostgresStore({ url, schema }));
 * });
 */
export function describeWithService(name: ServiceEnv, title: string, fn: (url: string) => void): void {
  const url = serviceUrl(name);
  if (url !== undefined) {
    describe(`${title} (${name})`, () => fn(url));
  } else if (requiredServices().has(name)) {
    describe(`${title} (${name})`, () => {
      it(`needs ${name}`, () => {
        throw new Error(`${name} is not set, and OPSHUB_REQUIRE_SERVICES=${process.env.OPSHUB_REQUIRE_SERVICES} makes this suite mandatory`);
      });
    });
  } else {
    describe.skip(`${title} (${name} not set)`, () => {
      it.skip('skipped');
    });
  }
}

/** `OPSHUB_REQUIRE_SERVICES=DATABASE_URL,REDIS_URL`: the services whose absence is a failure, not a skip. */
function requiredServices(): Set<string> {
  return new Set((process.env.OPSHUB_REQUIRE_SERVICES ?? '').split(',').map((s) => s.trim()).filter(Boolean));
}

/** Programs from Debian packages that some suites need: the suite runs where they work and is skipped elsewhere. */
export type ServiceTool = 'redis-server' | 'haproxy' | 'netns' | 'docker-compose' | 'postgres';

const toolProbes: Record<ServiceTool, { readonly needs: string; readonly probe: () => void }> = {
  'redis-server': {
    needs: 'redis-server and redis-cli (Debian package redis-server)',
    probe: () => {
      execFileSync('redis-server', ['--version'], { stdio: 'ignore' });
      execFileSync('redis-cli', ['--version'], { stdio: 'ignore' });
    },
  },
  // A private PostgreSQL server a test may stop and kill (never the machine's shared one): initdb and postgres.
  postgres: {
    needs: 'PostgreSQL server programs initdb and postgres (Debian package postgresql, /usr/lib/postgresql/*/bin)',
    probe: () => {
      const bin = postgresBinDir();
      if (bin === undefined) throw new Error('initdb and postgres are neither on PATH nor under /usr/lib/postgresql');
      execFileSync(`${bin}/postgres`, ['--version'], { stdio: 'ignore' });
    },
  },
  haproxy: { needs: 'haproxy (Debian package haproxy)', probe: () => execFileSync('haproxy', ['-v'], { stdio: 'ignore' }) },
  'docker-compose': { needs: 'docker-compose (Debian package docker-compose)', probe: () => execFileSync('docker-compose', ['version'], { stdio: 'ignore' }) },
  netns: {
    needs: 'network namespaces: root (CAP_NET_ADMIN), `ip netns` and veth (Debian package iproute2), /dev/net/tun and socat (Debian package socat) for the lossy uplink',
    probe: () => {
      // Creating and deleting a namespace is the only honest test of the permission.
      const name = `opshub-probe-${process.pid}`;
      execFileSync('ip', ['netns', 'add', name], { stdio: 'ignore' });
      execFileSync('ip', ['netns', 'delete', name], { stdio: 'ignore' });
      if (!/WITH_TUN 1/.test(execFileSync('socat', ['-V'], { encoding: 'utf8' }))) throw new Error('this socat was built without TUN support');
      accessSync('/dev/net/tun', constants.R_OK | constants.W_OK);
    },
  },
};

const toolState = new Map<ServiceTool, string | undefined>();

/**
 * Why `tool` cannot be used here, or undefined when it can (probed once per process).
 * @example toolMissing('haproxy'); // undefined on CI
 */
export function toolMissing(tool: ServiceTool): string | undefined {
  if (!toolState.has(tool)) {
    const { needs, probe } = toolProbes[tool];
    try {
      probe();
      toolState.set(tool, undefined);
    } catch (err) {
      toolState.set(tool, `needs ${needs}: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`);
    }
  }
  return toolState.get(tool);
}

/**
 * A suite that needs programs from the machine (`redis-server` for a local Redis Cluster, `haproxy`, network
 * namespaces): runs where they work; elsewhere it is skipped with the reason, or fails when `OPSHUB_REQUIRE_TOOLS`
 * lists the tool (`.ci/run` sets `redis-server,haproxy,docker-compose`), so CI cannot go green by skipping them.
 *
 * @example describeWithTool('redis-server', 'RedisBus on a Redis Cluster', () => { ... });
 */
export function describeWithTool(tool: ServiceTool, title: string, fn: () => void): void {
  const missing = toolMissing(tool);
  if (missing === undefined) {
    describe(title, fn);
  } else if (requiredTools().has(tool)) {
    describe(title, () => {
      it(`needs ${tool}`, () => {
        throw new Error(`${missing}; OPSHUB_REQUIRE_TOOLS=${process.env.OPSHUB_REQUIRE_TOOLS} makes this suite mandatory`);
      });
    });
  } else {
    describe.skip(`${title} (skipped: ${missing})`, () => {
      it.skip('skipped');
    });
  }
}

function requiredTools(): Set<string> {
  return new Set((process.env.OPSHUB_REQUIRE_TOOLS ?? '').split(',').map((s) => s.trim()).filter(Boolean));
}
