import { chaos } from './chaos.ts';
import { clusterLb } from './cluster-lb.ts';
import { crossHub } from './cross-hub.ts';
import { eventDayMix } from './event-day-mix.ts';
import { eventMemory } from './event-memory.ts';
import { fanOut } from './fan-out.ts';
import { analytics } from './analytics.ts';
import { analyticsOutbox } from './analytics-outbox.ts';
import { gatePartition } from './gate-partition.ts';
import { gatesVenueNetwork } from './gates-venue-network.ts';
import { gateVerdict } from './gate-verdict.ts';
import { idleMemory } from './idle-memory.ts';
import { importScenario } from './import.ts';
import { overAdmission } from './over-admission.ts';
import { push } from './push.ts';
import { redisCluster } from './redis-cluster.ts';
import { workers } from './workers.ts';
import type { Scenario } from './scenario.ts';

/**
 * Every scenario, in run order. idle-memory goes first: it wants a server no client has touched yet, and the
 * single-server scenarios then share that server. gate-partition drives the shared hub and its own y-websocket
 * server with WebsocketProviders; gate-verdict runs its own edge-agent process after them; analytics, push and import run their own figures processes.
 */
export const scenarios: readonly Scenario[] = [idleMemory, eventMemory, fanOut, eventDayMix, crossHub, gatePartition, gateVerdict, overAdmission, analytics, analyticsOutbox, push, importScenario, clusterLb, chaos, redisCluster, gatesVenueNetwork, workers];
