import { randomUUID } from 'node:crypto';
import { topicName, type AnnouncementMessage } from '@opshub/schema';
import { recordAnalytics } from '../../store/repos/analytics-outbox-repo.ts';
import type { Bus } from '../../bus/bus.ts';
import type { CommandHandler } from '../../commands/command-router.ts';
import { insertAnnouncement } from '../../store/repos/announcements-repo.ts';
import { appendAudit } from '../../store/repos/audit-log.ts';
import { getEvent } from '../../store/repos/events-repo.ts';
import { NotFoundError } from '../../store/errors.ts';
import type { Store } from '../../store/store.ts';

/**
 * Announcements: staff tell everyone at the event something, from "coffee in hall B" to an emergency broadcast.
 * schema → authorize (router) → persist → publish → analytics.
 */
export function announcementsStream(deps: {
  bus: Bus;
  store: Store;
  /** told about each announcement once it is stored and published (web push queues it here) */
  onSent?: (message: AnnouncementMessage) => void;
}) {
  const { bus, store } = deps;

  const send: CommandHandler<'announce.send'> = async (args, { claims }) => {
    // Fail before touching the Store: with the bus down the announcement could be stored but never delivered.
    const message: AnnouncementMessage = { id: randomUUID(), event: args.event, text: args.text, level: args.level, by: claims.sub, at: Date.now() };
    const seq = await store.db.transaction().execute(async (trx) => {
      if (!(await getEvent(trx, args.event))) throw new NotFoundError('event', args.event);
      await insertAnnouncement(trx, { id: message.id, event: message.event, text: message.text, level: message.level, createdBy: claims.sub });
      await appendAudit(trx, { actor: claims.sub, role: claims.role, action: 'announce.send', event: args.event, target: message.id, after: message });
      await recordAnalytics(trx, {
        ts: message.at,
        event: message.event,
        kind: 'announcement.sent',
        actor: claims.sub,
        properties: { id: message.id, level: message.level, length: message.text.length },
      });
      // Publishing inside the transaction: if the bus refuses, the row and its audit entry roll back with it.
      return (await bus.publish(topicName({ kind: 'announcements', event: args.event }), message)).seq;
    });
    deps.onSent?.(message);
    return { id: message.id, seq };
  };

  return { commands: { 'announce.send': send } };
}
