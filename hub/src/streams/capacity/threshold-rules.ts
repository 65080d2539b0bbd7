/**
 * The occupancy thresholds the control room watches, in percent of capacity, with their alert severity. 110 and 125
 * are escalations (issue 12): a zone past capacity keeps telling the control room it is getting worse, instead of
 * one "reached 100 %" alert that then stays silent while the hall fills to twice its size.
 */
export const thresholds = [
  { percent: 80, severity: 'info' },
  { percent: 90, severity: 'warning' },
  { percent: 100, severity: 'critical' },
  { percent: 110, severity: 'critical' },
  { percent: 125, severity: 'critical' },
] as const;

export type Threshold = (typeof thresholds)[number];

/**
 * Percentage points a zone must fall below a threshold before crossing it again raises a new alert, so a zone
 * hovering around 90 % does not flood the feed.
 */
export const HYSTERESIS_POINTS = 5;

/** Per threshold: true while it is armed (the next upward crossing alerts), false once it has alerted. */
export type Armed = Record<Threshold['percent'], boolean>;

export const allArmed = (): Armed => ({ 80: true, 90: true, 100: true, 110: true, 125: true });

export interface ThresholdStep {
  /** thresholds crossed upward while armed: one alert each */
  readonly crossed: Threshold[];
  /** thresholds re-armed because the zone fell far enough below them */
  readonly rearmed: Threshold[];
  readonly armed: Armed;
}

/**
 * The pure rule: given which thresholds are armed and the zone's occupancy now, which alerts to raise and which
 * thresholds re-arm. A jump from 70 % to 100 % raises all three; 89 ↔ 91 raises 90 once; falling below 85 re-arms it.
 * @example step(allArmed(), 0.92) // { crossed: [80, 90], rearmed: [], armed: { 80: false, 90: false, 100: true } }
 */
export function step(armed: Armed, ratio: number): ThresholdStep {
  const percent = ratio * 100;
  const next: Armed = { ...armed };
  const crossed: Threshold[] = [];
  const rearmed: Threshold[] = [];
  for (const threshold of thresholds) {
    if (armed[threshold.percent] && percent >= threshold.percent) {
      next[threshold.percent] = false;
      crossed.push(threshold);
    } else if (!armed[threshold.percent] && percent < threshold.percent - HYSTERESIS_POINTS) {
      next[threshold.percent] = true;
      rearmed.push(threshold);
    }
  }
  return { crossed, rearmed, armed: next };
}

/** The level a ratio shows as: `ok` below 80 %, else the highest threshold reached. */
export function levelOf(ratio: number): 'ok' | '80' | '90' | '100' {
  return ratio >= 1 ? '100' : ratio >= 0.9 ? '90' : ratio >= 0.8 ? '80' : 'ok';
}
