import type { ZoneOccupancy } from '@opshub/schema';
import { levelOf } from './threshold-rules.ts';

/**
 * One zone's occupancy row as the control room reads it: `inside` against `capacity`, the ratio and the 80/90/100 %
 * level. The one place that row is built, whether from a replica's timeline, the Store's summary or a correction.
 * @example zoneOccupancy({ id: 'hall-a', name: 'Hall A', capacity: 1200 }, 960) // { ratio: 0.8, level: '80', … }
 */
export function zoneOccupancy(zone: { readonly id: string; readonly name: string; readonly capacity: number }, inside: number): ZoneOccupancy {
  const ratio = zone.capacity > 0 ? inside / zone.capacity : 0;
  return { zone: zone.id, name: zone.name, capacity: zone.capacity, inside, ratio, level: levelOf(ratio) };
}
