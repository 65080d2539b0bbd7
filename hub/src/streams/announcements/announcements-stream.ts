import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import { topicName, type AnnouncementMessage } from '@opshub/schema';
import type { Database } from '@opshub/schema/db';
import { recordAnalytics } from '../../store/repos/analytics-outbox-repo.ts';
import type { Bus } from '../../bus/bus.ts';
import type { CommandHandler } from '../../commands/command-router.ts';
import { ClientError } from '../../errors.ts';
import type { Logger } from '../../log.ts';
import type { ReplicaHost } from '../../replicas/replica-host.ts';
import { endAnnouncement, insertAnnouncement, type Announcement } from '../../store/repos/announcements-repo.ts';
import { appendAudit } from '../../store/repos/audit-log.ts';
import { listDirectives } from '../../store/repos/directives-repo.ts';
import { getEvent } from '../../store/repos/events-repo.ts';
import { NotFoundError } from '../../store/errors.ts';
import type { Store } from '../../store/store.ts';
import type { DirectivesStream } from '../directives/directives-stream.ts';
import type { ScreenViews } from './screen-views.ts';

/** How long a failed projection into the gate doc waits before it is tried again. */
const PROJECT_RETRY_MS = 1_000;

/**
 * Announcements: staff tell everyone at the event something, from "coffee in hall B" to an emergency broadcast that
 * takes over every screen (issue 12 item 6). schema → authorize (router) → persist → publish → gate doc → analytics.
 *
 * Gate screens learn of announcements from the gate doc (the `announcements` directive, see replica/notices.ts), so
 * an emergency reaches a gate through the hub or the venue mesh; "hold all gates" puts every gate on hold in the same
 * transaction as the announcement (through the directives stream, audited per gate). Pages report what they showed
 * (`announce.shown`), gates through their presence: {@link ScreenViews} counts them.
 */
export function announcementsStream(deps: {
  bus: Bus;
  store: Store;
  log: Logger;
  directives: DirectivesStream;
  replicas: ReplicaHost;
  views: ScreenViews;
  /** told about each announcement once it is stored and published (web push queues it here) */
  onSent?: (message: AnnouncementMessage) => void;
}) {
  const { bus, store, directives } = deps;
  // The control room's voice goes first on the Store (`urgentDb`), like its levers: an emergency sent during a surge
  // must not wait behind the surge's check-ins (docs/gates.md). Screens reporting what they showed are ordinary work.

  /** Writes the current notices into the gate doc (durable before relay); retried once on failure, never fails the command. */
  const project = async (event: string): Promise<void> => {
    try {
      await deps.replicas.projectDirectives(event, store.urgentDb);
    } catch (err) {
      deps.log.error({ err, event }, 'announcement not written into the gate doc; retrying');
      setTimeout(() => void deps.replicas.projectDirectives(event, store.urgentDb).catch((e: unknown) => deps.log.error({ err: e, event }, 'announcement still not in the gate doc')), PROJECT_RETRY_MS).unref();
    }
  };

  const send: CommandHandler<'announce.send'> = async (args, { claims }) => {
    const details = await getEvent(store.urgentDb, args.event);
    if (!details) throw new NotFoundError('event', args.event);
    const held = args.holdGates ? details.gates.map((g) => g.id) : undefined;
    const message: AnnouncementMessage = {
      id: randomUUID(),
      event: args.event,
      text: args.text,
      level: args.level,
      by: claims.sub,
      at: Date.now(),
      ...(args.holdGates ? { holdGates: true } : {}),
    };
    let seq = 0;
    // Publishing inside the transaction: if the bus refuses, the row and its audit entry roll back with it.
    const persist = async (trx: Kysely<Database>) => {
      await insertAnnouncement(trx, { id: message.id, event: message.event, text: message.text, level: message.level, createdBy: claims.sub, holdGates: args.holdGates });
      await appendAudit(trx, { actor: claims.sub, role: claims.role, action: 'announce.send', event: args.event, target: message.id, after: { ...message, ...(held ? { held } : {}) } });
      await recordAnalytics(trx, {
        ts: message.at,
        event: message.event,
        kind: 'announcement.sent',
        actor: claims.sub,
        properties: { id: message.id, level: message.level, length: message.text.length, holdGates: args.holdGates === true },
      });
      seq = (await bus.publish(topicName({ kind: 'announcements', event: args.event }), message)).seq;
    };
    if (held) {
      // One audited action: the announcement and every gate's hold commit together; setGates projects both into the gate doc.
      await directives.setGates(claims, args.event, held, { state: 'hold', message: args.text }, persist);
    } else {
      await store.urgentDb.transaction().execute(persist);
      await project(args.event);
    }
    deps.onSent?.(message);
    return { id: message.id, seq, ...(held ? { held } : {}) };
  };

  const end: CommandHandler<'announce.end'> = async (args, { claims }) => {
    let ended: Announcement | undefined;
    const persist = async (trx: Kysely<Database>) => {
      const result = await endAnnouncement(trx, args.event, args.id, claims.sub);
      if (result === 'not_found') throw new ClientError('not_found', `announcement "${args.id}" is not an announcement of event "${args.event}"`);
      if (result === 'already_ended') throw new ClientError('conflict', `announcement "${args.id}" has already ended`);
      ended = result;
      const message = toMessage(result);
      await appendAudit(trx, { actor: claims.sub, role: claims.role, action: 'announce.end', event: args.event, target: args.id, after: message });
      await bus.publish(topicName({ kind: 'announcements', event: args.event }), message);
    };
    let reopened: string[] | undefined;
    if (args.reopenGates) {
      // The gates this emergency (or anything else) put on hold; a gate closed on purpose stays closed.
      reopened = (await listDirectives(store.urgentDb, args.event)).gates.filter((g) => g.state === 'hold').map((g) => g.gate);
      await directives.setGates(claims, args.event, reopened, { state: 'open' }, persist);
    } else {
      if (!(await getEvent(store.urgentDb, args.event))) throw new NotFoundError('event', args.event);
      await store.urgentDb.transaction().execute(persist);
      await project(args.event);
    }
    return { id: args.id, endedAt: ended!.endedAt!.getTime(), ...(reopened ? { reopened } : {}) };
  };

  const shown: CommandHandler<'announce.shown'> = async (args) => {
    const recorded = await deps.views.record(args.ids.map((id) => ({ event: args.event, id, screen: args.screen, client: args.client })));
    return { recorded };
  };

  return { send, end, commands: { 'announce.send': send, 'announce.end': end, 'announce.shown': shown } };
}

/** An announcement as `event/{e}/announcements` carries it. */
export function toMessage(a: Announcement): AnnouncementMessage {
  return {
    id: a.id,
    event: a.event,
    text: a.text,
    level: a.level,
    by: a.createdBy,
    at: a.createdAt.getTime(),
    ...(a.holdGates ? { holdGates: true } : {}),
    ...(a.endedAt ? { endedAt: a.endedAt.getTime(), endedBy: a.endedBy ?? '' } : {}),
  };
}

export type AnnouncementsStream = ReturnType<typeof announcementsStream>;
