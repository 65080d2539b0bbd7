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
    reports: json.scenarios.map((s) => ({
      ...s,
      metrics: Object.entries(s.units).map(([key, u]) => ({ key, ...u })),
      opshub: figures(s.opshub),
      baseline: figures(s.baseline),
    })),
  };
}

interface Row {
  readonly scenario: string;
  readonly metric: string;
  readonly opshub: string;
  readonly baseline: string;
  readonly ratio: string;
}

function rows(reports: readonly ScenarioReport[]): Row[] {
  const out: Row[] = [];
  for (const r of reports) {
    if (r.error) {
      out.push({ scenario: r.name, metric: `FAILED: ${r.error.split('\n')[0]}`, opshub: '', baseline: '', ratio: '' });
      continue;
    }
    r.metrics.forEach((m, i) => {
      out.push({
        scenario: i === 0 ? r.name : '',
        metric: `${m.label}${m.unit && !['', '/s'].includes(m.unit) ? ` (${m.unit})` : ''} ${m.better === 'higher' ? '↑' : '↓'}`,
        opshub: formatValue(r.opshub[m.key]),
        baseline: formatValue(r.baseline[m.key]),
        ratio: formatRatio(r.ratio[m.key], r.opshub[m.key], r.baseline[m.key]),
      });
    });
  }
  return out;
}

/** The table for a terminal: aligned columns, notes under it. */
export function formatTable(reports: readonly ScenarioReport[], machine: Machine): string {
  const baselineName = reports[0]?.baselineName ?? 'baseline';
  const header: Row = { scenario: 'scenario', metric: 'metric (↑ higher is better, ↓ lower)', opshub: 'opshub', baseline: baselineName, ratio: 'opshub ÷ baseline' };
  const all = [header, ...rows(reports)];
  const width = (k: keyof Row) => Math.max(...all.map((r) => [...r[k]].length));
  const w = { scenario: width('scenario'), metric: width('metric'), opshub: width('opshub'), baseline: width('baseline'), ratio: width('ratio') };
  const line = (r: Row) =>
    `${pad(r.scenario, w.scenario)}  ${pad(r.metric, w.metric)}  ${padLeft(r.opshub, w.opshub)}  ${padLeft(r.baseline, w.baseline)}  ${padLeft(r.ratio, w.ratio)}`.trimEnd();
  const rule = '─'.repeat(w.scenario + w.metric + w.opshub + w.baseline + w.ratio + 8);
  const notes = reports.flatMap((r) => r.notes.map((n) => `  ${r.name}: ${n}`));
  return [`machine: ${machineLine(machine)}`, `date: ${machine.date}`, rule, line(header), rule, ...all.slice(1).map(line), rule, ...notes].join('\n');
}

/** The same table in Markdown, for the README. */
export function formatMarkdown(reports: readonly ScenarioReport[], machine: Machine): string {
  const baselineName = reports[0]?.baselineName ?? 'baseline';
  const esc = (s: string) => s.replace(/\|/g, '\\|');
  const lines = [
    `Measured ${machine.date.slice(0, 10)} on ${machineLine(machine)}.`,
    '',
    `| scenario | metric (↑ higher is better, ↓ lower) | opshub | ${baselineName} | opshub ÷ baseline |`,
    '|---|---|---:|---:|---:|',
    ...rows(reports).map((r) => `| ${esc(r.scenario)} | ${esc(r.metric)} | ${r.opshub} | ${r.baseline} | ${r.ratio} |`),
    '',
    ...reports.flatMap((r) => r.notes.map((n) => `- ${r.name}: ${esc(n)}`)),
  ];
  return lines.join('\n');
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
