import { describe, it } from 'vitest';

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
