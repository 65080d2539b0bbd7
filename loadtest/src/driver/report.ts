import type { Figures, Metric, ScenarioOutcome } from '../scenarios/scenario.ts';
import { machineLine, type Machine } from './machine.ts';

export interface ScenarioReport {
  readonly name: string;
  readonly summary: string;
  readonly baselineName: string;
  readonly metrics: readonly Metric[];
  readonly opshub: Figures;
  readonly baseline: Figures;
  /** opshub ÷ baseline per metric (null where undefined: a zero or missing baseline) */
  readonly ratio: Record<string, number | null>;
  /** the baseline on the lean client (the same client as opshub's) where the scenario has it */
  readonly sameClient?: { readonly name: string; readonly figures: Figures };
  /** the limit column (uWS `app.publish` alone) where the scenario has one */
  readonly limit?: { readonly name: string; readonly figures: Figures };
  readonly notes: readonly string[];
  readonly error?: string;
  readonly seconds: number;
}

/**
 * opshub ÷ baseline for every metric both sides have. Always that direction, so the issue's goals read straight
 * off the column: fan-out deliveries ≥ 10, memory per connection ≤ 0.1.
 * @example ratios(outcome) // { deliveriesPerSec: 14.2, p99: 0.08, ... }
 */
export function ratios(outcome: Pick<ScenarioOutcome, 'metrics' | 'opshub' | 'baseline'>): Record<string, number | null> {
  const out: Record<string, number | null> = {};
  for (const { key } of outcome.metrics) {
    const o = outcome.opshub[key];
    const b = outcome.baseline[key];
    // A ratio of a difference that can go negative (the second hop's added latency) says nothing: left out.
    out[key] = o === undefined || b === undefined || !Number.isFinite(o) || !Number.isFinite(b) || o < 0 || b < 0 || b === 0 ? null : o / b;
  }
  return out;
}

/** The report as JSON: `{"scenarios":[{"name","opshub","baseline","ratio",…}],"machine":{…}}`, figures rounded. */
export function toJson(reports: readonly ScenarioReport[], machine: Machine, run: Record<string, unknown>): string {
  const clean = (f: Record<string, number | null>) =>
    Object.fromEntries(Object.entries(f).map(([k, v]) => [k, v === null || !Number.isFinite(v) ? null : roundTo(v)]));
  return JSON.stringify(
    {
      scenarios: reports.map((r) => ({
        name: r.name,
        summary: r.summary,
        baselineName: r.baselineName,
        opshub: clean(r.opshub),
        baseline: clean(r.baseline),
        ratio: clean(r.ratio),
        ...(r.sameClient && { sameClient: { name: r.sameClient.name, figures: clean(r.sameClient.figures) } }),
        ...(r.limit && { limit: { name: r.limit.name, figures: clean(r.limit.figures) } }),
        units: Object.fromEntries(r.metrics.map((m) => [m.key, { label: m.label, unit: m.unit, better: m.better }])),
        notes: r.notes,
        ...(r.error && { error: r.error }),
        seconds: Math.round(r.seconds),
      })),
      machine,
      run,
    },
    null,
    2,
  );
}

/**
 * Reads a report written with --json back into the form the table printers take, so a saved run can be printed
 * again (`--report FILE --markdown` renders the README's table from the JSON of the run it shows).
 * @example const { reports, machine } = fromJson(readFileSync('report.json', 'utf8'));
 */
export function fromJson(text: string): { reports: ScenarioReport[]; machine: Machine } {
  const json = JSON.parse(text) as {
    scenarios: {
      name: string;
      summary: string;
      baselineName: string;
      opshub: Record<string, number | null>;
      baseline: Record<string, number | null>;
      ratio: Record<string, number | null>;
      sameClient?: { name: string; figures: Record<string, number | null> };
      limit?: { name: string; figures: Record<string, number | null> };
      units: Record<string, { label: string; unit: string; better: 'higher' | 'lower' }>;
      notes: string[];
      error?: string;
      seconds: number;
    }[];
    machine: Machine;
  };
  if (!Array.isArray(json.scenarios) || typeof json.machine !== 'object') throw new Error('not a bench report: expected {"scenarios":[…],"machine":{…}}');
  const figures = (f: Record<string, number | null>) => Object.fromEntries(Object.entries(f).map(([k, v]) => [k, v ?? Number.NaN]));
  return {
    machine: json.machine,
    reports: json.scenarios.map(({ limit, sameClient, ...s }) => ({
      ...s,
      metrics: Object.entries(s.units).map(([key, u]) => ({ key, ...u })),
      opshub: figures(s.opshub),
      baseline: figures(s.baseline),
      ...(sameClient && { sameClient: { name: sameClient.name, figures: figures(sameClient.figures) } }),
      ...(limit && { limit: { name: limit.name, figures: figures(limit.figures) } }),
    })),
  };
}

interface Row {
  readonly scenario: string;
  readonly metric: string;
  readonly opshub: string;
  /** the baseline's name on a scenario's first row: each scenario names its own */
  readonly against: string;
  readonly baseline: string;
  readonly ratio: string;
  /** the baseline on the lean client, and opshub ÷ it */
  readonly same: string;
  readonly sameRatio: string;
  readonly limit: string;
  readonly limitRatio: string;
}

function rows(reports: readonly ScenarioReport[]): Row[] {
  const out: Row[] = [];
  for (const r of reports) {
    if (r.error) {
      out.push({ scenario: r.name, metric: `FAILED: ${r.error.split('\n')[0]}`, opshub: '', against: '', baseline: '', ratio: '', same: '', sameRatio: '', limit: '', limitRatio: '' });
      continue;
    }
    r.metrics.forEach((m, i) => {
      out.push({
        scenario: i === 0 ? r.name : '',
        metric: `${m.label}${m.unit && !['', '/s'].includes(m.unit) ? ` (${m.unit})` : ''} ${m.better === 'higher' ? '↑' : '↓'}`,
        opshub: formatValue(r.opshub[m.key]),
        against: i === 0 ? r.baselineName : '',
        baseline: formatValue(r.baseline[m.key]),
        ratio: formatRatio(r.ratio[m.key], r.opshub[m.key], r.baseline[m.key]),
        same: r.sameClient ? formatValue(r.sameClient.figures[m.key]) : '',
        sameRatio: r.sameClient ? formatRatio(ratioOf(r.opshub[m.key], r.sameClient.figures[m.key]), r.opshub[m.key], r.sameClient.figures[m.key]) : '',
        limit: r.limit ? formatValue(r.limit.figures[m.key]) : '',
        limitRatio: r.limit ? formatRatio(ratioOf(r.opshub[m.key], r.limit.figures[m.key]), r.opshub[m.key], r.limit.figures[m.key]) : '',
      });
    });
  }
  return out;
}

/** The table for a terminal: aligned columns, notes under it. */
export function formatTable(reports: readonly ScenarioReport[], machine: Machine): string {
  const limitName = reports.find((r) => r.limit)?.limit?.name;
  const sameName = reports.find((r) => r.sameClient)?.sameClient?.name;
  const header: Row = {
    scenario: 'scenario',
    metric: 'metric (↑ higher is better, ↓ lower)',
    opshub: 'opshub',
    against: 'baseline',
    baseline: 'value',
    ratio: 'opshub ÷ baseline',
    same: sameName ?? '',
    sameRatio: sameName ? 'opshub ÷ it' : '',
    limit: limitName ?? '',
    limitRatio: limitName ? 'opshub ÷ limit' : '',
  };
  const all = [header, ...rows(reports)];
  const keysOf = ['scenario', 'metric', 'opshub', 'against', 'baseline', 'ratio', 'same', 'sameRatio', 'limit', 'limitRatio'] as const;
  const w = Object.fromEntries(keysOf.map((k) => [k, Math.max(...all.map((r) => [...r[k]].length))])) as Record<keyof Row, number>;
  const line = (r: Row) =>
    `${pad(r.scenario, w.scenario)}  ${pad(r.metric, w.metric)}  ${padLeft(r.opshub, w.opshub)}  ${pad(r.against, w.against)}  ${padLeft(r.baseline, w.baseline)}  ${padLeft(r.ratio, w.ratio)}  ${padLeft(r.same, w.same)}  ${padLeft(r.sameRatio, w.sameRatio)}  ${padLeft(r.limit, w.limit)}  ${padLeft(r.limitRatio, w.limitRatio)}`.trimEnd();
  const rule = '─'.repeat(keysOf.reduce((sum, k) => sum + w[k], 0) + 2 * (keysOf.length - 1));
  const notes = reports.flatMap((r) => r.notes.map((n) => `  ${r.name}: ${n}`));
  // Seconds per scenario: the full run must stay under 10 minutes, and this says where its time goes.
  const seconds = `seconds: ${reports.map((r) => `${r.name} ${Math.round(r.seconds)}`).join(', ')}; ${Math.round(reports.reduce((t, r) => t + r.seconds, 0))} in all`;
  return [`machine: ${machineLine(machine)}`, `date: ${machine.date}`, rule, line(header), rule, ...all.slice(1).map(line), rule, ...notes, seconds].join('\n');
}

/**
 * The same table in Markdown, for the README. Each scenario names its own baseline on its first row (socket.io,
 * @y/websocket-server, the ingest it replaced, none), and the limit column shows uWS `app.publish` alone where run.
 */
export function formatMarkdown(reports: readonly ScenarioReport[], machine: Machine): string {
  const limitName = reports.find((r) => r.limit)?.limit?.name;
  const sameName = reports.find((r) => r.sameClient)?.sameClient?.name;
  const esc = (s: string) => s.replace(/\|/g, '\\|');
  const sameHead = sameName ? ` ${esc(sameName)} | opshub ÷ it |` : '';
  const sameRule = sameName ? '---:|---:|' : '';
  const limitHead = limitName ? ` ${esc(limitName)} | opshub ÷ limit |` : '';
  const limitRule = limitName ? '---:|---:|' : '';
  const lines = [
    `Measured ${machine.date.slice(0, 10)} on ${machineLine(machine)}.`,
    '',
    `| scenario | metric (↑ higher is better, ↓ lower) | opshub | baseline | baseline's figure | opshub ÷ baseline |${sameHead}${limitHead}`,
    `|---|---|---:|---|---:|---:|${sameRule}${limitRule}`,
    ...rows(reports).map(
      (r) => `| ${esc(r.scenario)} | ${esc(r.metric)} | ${r.opshub} | ${esc(r.against)} | ${r.baseline} | ${r.ratio} |${sameName ? ` ${r.same} | ${r.sameRatio} |` : ''}${limitName ? ` ${r.limit} | ${r.limitRatio} |` : ''}`,
    ),
    '',
    ...reports.flatMap((r) => r.notes.map((n) => `- ${r.name}: ${esc(n)}`)),
  ];
  return lines.join('\n');
}

/** opshub ÷ limit, with the same rules as {@link ratios}. */
function ratioOf(o: number | undefined, l: number | undefined): number | null {
  return o === undefined || l === undefined || !Number.isFinite(o) || !Number.isFinite(l) || o < 0 || l <= 0 ? null : o / l;
}

function formatValue(v: number | undefined): string {
  if (v === undefined || Number.isNaN(v)) return '–';
  if (v === Number.POSITIVE_INFINITY) return 'never';
  const abs = Math.abs(v);
  if (abs >= 1000) return Math.round(v).toLocaleString('en-US');
  if (abs >= 100) return String(Math.round(v));
  if (abs === 0) return '0';
  return String(Number(v.toPrecision(3)));
}

function formatRatio(ratio: number | null | undefined, o: number | undefined, b: number | undefined): string {
  if (ratio === null || ratio === undefined) return b === 0 && o !== undefined && o > 0 ? '∞' : b === 0 && o === 0 ? '=' : '–';
  const abs = Math.abs(ratio);
  if (abs === 0) return '0×';
  if (abs >= 10) return `${Math.round(ratio * 10) / 10}×`;
  if (abs >= 0.01) return `${Number(ratio.toPrecision(2))}×`;
  return `${ratio.toExponential(1)}×`;
}

function roundTo(v: number): number {
  if (Math.abs(v) >= 100) return Math.round(v);
  return Number(v.toPrecision(4));
}

const pad = (s: string, n: number) => s + ' '.repeat(Math.max(0, n - [...s].length));
const padLeft = (s: string, n: number) => ' '.repeat(Math.max(0, n - [...s].length)) + s;
