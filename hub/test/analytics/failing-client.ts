import type { AnalyticsClient } from '../../src/analytics/analytics-client.ts';

export interface FailurePlan {
  /** this many first inserts throw before reaching the engine: nothing is stored */
  before?: number;
  /** then this many inserts are stored by the engine and throw anyway, like an answer lost on the way back */
  after?: number;
  /** the error thrown (default: "injected insert failure") */
  error?: () => Error;
}

/**
 * A real client whose first inserts fail as planned; everything else, and every insert after those, goes to the real
 * engine. `tokens` counts the inserts that reached the engine per deduplication token.
 */
export function failingClient(client: AnalyticsClient, plan: FailurePlan): AnalyticsClient & { tokens: Map<string, number> } {
  let before = plan.before ?? 0;
  let after = plan.after ?? 0;
  const fail = plan.error ?? (() => new Error('injected insert failure'));
  const tokens = new Map<string, number>();
  return {
    tokens,
    command: (params) => client.command(params),
    query: (params) => client.query(params),
    close: () => client.close(),
    async exec(params) {
      if (before > 0) {
        before--;
        throw fail();
      }
      const token = /insert_deduplication_token = '([^']+)'/.exec(params.query)?.[1] ?? 'none';
      tokens.set(token, (tokens.get(token) ?? 0) + 1);
      const result = await client.exec(params);
      if (after > 0) {
        after--;
        result.stream.resume();
        throw fail();
      }
      return result;
    },
  };
}
