import { crossHub } from './cross-hub.ts';
import { eventDayMix } from './event-day-mix.ts';
import { fanOut } from './fan-out.ts';
import { analytics } from './analytics.ts';
import { gateVerdict } from './gate-verdict.ts';
import { idleMemory } from './idle-memory.ts';
import type { Scenario } from './scenario.ts';

/**
 * Every scenario, in run order. idle-memory goes first: it wants a server no client has touched yet, and the
 * single-server scenarios then share that server. gate-verdict runs its own
 * edge-agent process after them. Gate partition and analytics join here as their issues land.
 */
export const scenarios: readonly Scenario[] = [idleMemory, fanOut, eventDayMix, crossHub, gateVerdict, analytics];
