import type { RunContext } from '../driver/run-context.ts';

/** One row of a scenario's table. */
export interface Metric {
  /** the key in the JSON report */
  readonly key: string;
  readonly label: string;
  readonly unit: string;
  /** which way is better, so the reader of a ratio knows whether to want it above or below 1 */
  readonly better: 'higher' | 'lower';
}

export type Figures = Record<string, number>;

export interface ScenarioOutcome {
  readonly metrics: readonly Metric[];
  readonly opshub: Figures;
  readonly baseline: Figures;
  /** what the baseline column is (the run's socket.io when unset); `none` where no off-the-shelf peer exists */
  readonly baselineName?: string;
  /**
   * the baseline again with its subscribers on the bench's lean client, the client opshub's subscribers run on: the
   * comparison where neither side's figures include a heavier client than the other's
   */
  readonly sameClient?: { readonly name: string; readonly figures: Figures };
  /** a third column: the least any server could do for the same clients (uWS `app.publish` alone) */
  readonly limit?: { readonly name: string; readonly figures: Figures };
  /** what the figures alone do not say: client-bound limits, unsupported features, skipped parts */
  readonly notes: readonly string[];
}

/**
 * A load scenario: runs opshub and the baseline with the same payloads and client counts and returns the medians
 * of its repeats. Adding a scenario is one file exporting one of these, listed in `registry.ts`.
 */
export interface Scenario {
  readonly name: string;
  /** one line for --list and the report */
  readonly summary: string;
  /** starts the servers `run` will ask for (called for --quick, before anything is measured) */
  prestart?(ctx: RunContext): Promise<void>;
  run(ctx: RunContext): Promise<ScenarioOutcome>;
}
