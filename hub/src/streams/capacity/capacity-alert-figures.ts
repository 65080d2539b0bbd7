import { z } from 'zod';
import type { ZoneOccupancy } from '@opshub/schema';

/** What a `capacity` alert's `detail` carries; `peak` and `updatedAt` appear once the alert has been restated. */
export const CapacityAlertDetail = z.looseObject({
  zone: z.string(),
  threshold: z.number(),
  inside: z.number(),
  capacity: z.number(),
  peak: z.number().optional(),
  updatedAt: z.number().optional(),
});
export type CapacityAlertDetail = z.infer<typeof CapacityAlertDetail>;

/**
 * A capacity alert's title with the zone's figure now. The threshold stays what was crossed; the "now" part is kept
 * current while the alert is open, so the feed never reads "now 100 %: 1200 / 1200" with 2,462 people inside.
 * @example capacityAlertTitle(hallA, 100) // "Hall A reached 100 % of capacity (now 205 %: 2462 / 1200)"
 */
export function capacityAlertTitle(zone: ZoneOccupancy, threshold: number): string {
  return `${zone.name} reached ${threshold} % of capacity (now ${Math.round(zone.ratio * 100)} %: ${zone.inside} / ${zone.capacity})`;
}

/**
 * The alert's facts restated with the zone's figure now, or undefined when they already say so.
 * @example restatedDetail(detail, hallA, Date.now()) // { …detail, inside: 2462, peak: 2462, updatedAt }
 */
export function restatedDetail(detail: CapacityAlertDetail, zone: ZoneOccupancy, at: number): CapacityAlertDetail | undefined {
  if (detail.inside === zone.inside && detail.capacity === zone.capacity) return undefined;
  return { ...detail, inside: zone.inside, capacity: zone.capacity, peak: Math.max(detail.peak ?? detail.inside, zone.inside), updatedAt: at };
}
