import type { Kysely, Transaction } from 'kysely';
import type { Database } from '@opshub/schema/db';
import { topicName, type Claims, type Role, type GateDirectiveMessage, type GateState, type ZoneDirectiveMessage, type ZoneState } from '@opshub/schema';
import type { Bus } from '../../bus/bus.ts';
import type { CommandHandler } from '../../commands/command-router.ts';
import { ClientError } from '../../errors.ts';
import type { Logger } from '../../log.ts';
import type { ReplicaHost } from '../../replicas/replica-host.ts';
import { appendAudit } from '../../store/repos/audit-log.ts';
import { getZoneDirective, putGateDirective, putZoneDirective } from '../../store/repos/directives-repo.ts';
import { getEvent } from '../../store/repos/events-repo.ts';
import type { Store } from '../../store/store.ts';

/** Who sets a directive: a token's subject and role, or the hub itself (`{ sub: 'system', role: 'system' }`). */
export interface DirectiveActor {
  readonly sub: string;
  readonly role: Role | 'system';
}

export interface GateStateChange {
  state: GateState['state'];
  message?: string | undefined;
}

export interface ZoneStateChange {
  full?: boolean | undefined;
  redirect?: string | null | undefined;
  enforce?: ZoneState['enforce'] | undefined;
}

/**
 * The control room's levers (issue 12): a gate's state and a zone's door policy. Schema → authorize (by the caller:
 * REST route or command router) → persist with its audit row → project into the gate doc (durable before relay,
 * so every replica has it within a second, through the hub or the mesh) → publish on `event/{e}/gates` or
 * `event/{e}/capacity`. Their Store work runs on `urgentDb`: ahead of the ordinary work waiting for PGlite's one
 * session, so a hold never queues behind a burst's check-ins (docs/gates.md).
 */
export function directivesStream(deps: { store: Store; bus: Bus; replicas: ReplicaHost; log: Logger }) {
  const { store, bus, replicas } = deps;

  async function eventOf(event: string) {
    const details = await getEvent(store.urgentDb, event);
    if (!details) throw new ClientError('not_found', `event "${event}" not found`);
    return details;
  }

  /**
   * Sets one gate's state. Resolves once every gate replica this hub serves has it.
   * @example await directives.setGate(claims, 'expo', 'north', { state: 'hold', message: 'Please wait' });
   */
  async function setGate(claims: Claims, event: string, gate: string, change: GateStateChange): Promise<GateState> {
    const details = await eventOf(event);
    if (!details.gates.some((g) => g.id === gate)) throw new ClientError('not_found', `gate "${gate}" is not a gate of event "${event}"`);
    return (await setGates(claims, event, [gate], change))[0]!;
  }

  /**
   * Sets several gates' state at once (one projection): "hold all gates" in an emergency. `within` runs first in the
   * same transaction (the emergency's own row and audit entry), so the holds and what caused them commit together.
   */
  async function setGates(
    claims: Claims,
    event: string,
    gates: readonly string[],
    change: GateStateChange,
    within?: (trx: Kysely<Database>) => Promise<void>,
  ): Promise<GateState[]> {
    const at = Date.now();
    const states: GateState[] = gates.map((gate) => ({ gate, state: change.state, ...(change.message ? { message: change.message } : {}), by: claims.sub, at }));
    await store.urgentDb.transaction().execute(async (trx) => {
      await within?.(trx);
      for (const state of states) {
        const before = await putGateDirective(trx, event, state);
        await appendAudit(trx, { actor: claims.sub, role: claims.role, action: 'gate.state', event, target: state.gate, before, after: state });
      }
    });
    await replicas.projectDirectives(event, store.urgentDb);
    for (const state of states) {
      const message: GateDirectiveMessage = { kind: 'gate_state', ...state };
      await bus.publish(topicName({ kind: 'gates', event }), message);
    }
    return states;
  }

  /**
   * Changes a zone's door policy; fields left out keep their value.
   * @example await directives.setZone(claims, 'expo', 'hall', { full: true, redirect: 'annex' });
   */
  async function setZone(claims: Claims, event: string, zone: string, change: ZoneStateChange): Promise<ZoneState> {
    return (await changeZone(claims, event, zone, async () => ({ change })))!;
  }

  /**
   * Changes a zone's door policy only if `decide`, run inside the writing transaction with the policy before, says so
   * (a change, or null for none): the hub's own levers (a session's overflow) claim their right to write in the same
   * transaction, so two hubs never both write, and a release never undoes what staff set meanwhile.
   * @returns the new state, or null when `decide` declined
   * @example await directives.changeZone(systemActor, 'expo', 'hall', async (trx, before) => (await claim(trx)) ? { change: { full: true } } : null);
   */
  async function changeZone(
    actor: DirectiveActor,
    event: string,
    zone: string,
    decide: (trx: Transaction<Database>, before: ZoneState) => Promise<{ change: ZoneStateChange; why?: string } | null>,
  ): Promise<ZoneState | null> {
    const details = await eventOf(event);
    const zones = new Set(details.zones.map((z) => z.id));
    if (!zones.has(zone)) throw new ClientError('not_found', `zone "${zone}" is not a zone of event "${event}"`);
    const state = await store.urgentDb.transaction().execute(async (trx) => {
      const before = await getZoneDirective(trx, event, zone);
      const decision = await decide(trx, before);
      if (!decision) return null;
      const { change } = decision;
      if (change.redirect != null && !zones.has(change.redirect)) throw new ClientError('invalid', `redirect: "${change.redirect}" is not a zone of event "${event}"`);
      if (change.redirect === zone) throw new ClientError('invalid', 'redirect: a zone cannot redirect to itself');
      const after: ZoneState = {
        zone,
        full: change.full ?? before.full,
        redirect: change.redirect === undefined ? before.redirect : change.redirect,
        enforce: change.enforce ?? before.enforce,
        by: actor.sub,
        at: Date.now(),
      };
      await putZoneDirective(trx, event, after);
      await appendAudit(trx, { actor: actor.sub, role: actor.role, action: 'zone.state', event, target: zone, before, after: decision.why ? { ...after, why: decision.why } : after });
      return after;
    });
    if (!state) return null;
    await replicas.projectDirectives(event, store.urgentDb);
    const message: ZoneDirectiveMessage = { kind: 'zone_state', ...state };
    await bus.publish(topicName({ kind: 'capacity', event }), message);
    return state;
  }

  const gateCommand: CommandHandler<'gate.state'> = (args, { claims }) => setGate(claims, args.event, args.gate, args);
  const zoneCommand: CommandHandler<'zone.state'> = (args, { claims }) => setZone(claims, args.event, args.zone, args);

  return { setGate, setGates, setZone, changeZone, commands: { 'gate.state': gateCommand, 'zone.state': zoneCommand } };
}

export type DirectivesStream = ReturnType<typeof directivesStream>;
