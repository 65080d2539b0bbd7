import { topicName, type Exhibitor, type Lead, type LeadMessage } from '@opshub/schema';
import { recordAnalytics } from '../../store/repos/analytics-outbox-repo.ts';
import type { Bus } from '../../bus/bus.ts';
import type { CommandHandler } from '../../commands/command-router.ts';
import { NotFoundError } from '../../store/errors.ts';
import { getExhibitor } from '../../store/repos/exhibitors-repo.ts';
import { claimCaptureKey } from '../../store/repos/lead-captures-repo.ts';
import { captureLead, leadByTicket, updateLead } from '../../store/repos/leads-repo.ts';
import type { Store } from '../../store/store.ts';
import { resolveBadge } from './resolve-badge.ts';

/**
 * Leads: booth staff scan attendees' badges (`lead.capture`) and qualify them (`lead.update`); each change is published
 * on `event/{e}/leads/{exhibitor}` to the booth, its sponsor and admins, and recorded in analytics.
 * schema → authorize (router: an exhibitor token only for its own booth) → persist → publish → analytics.
 *
 * Persist and publish share a transaction, as announcements do: if the bus refuses, the scan did not happen and the
 * scanner may retry (with the same `scanId`, a retry never counts twice).
 */
export function leadsStream(deps: { bus: Bus; store: Store }) {
  const { bus, store } = deps;
  const topic = (event: string, exhibitor: string) => topicName({ kind: 'leads', event, exhibitor });

  async function booth(event: string, id: string): Promise<Exhibitor> {
    const exhibitor = await getExhibitor(store.db, event, id);
    if (!exhibitor) throw new NotFoundError('exhibitor', id);
    return exhibitor;
  }

  const capture: CommandHandler<'lead.capture'> = async (args, { claims }) => {
    const exhibitor = await booth(args.event, args.exhibitor);
    const ticket = await resolveBadge(store.db, args.event, args.code);
    const at = Date.now();
    const { kind, lead, seq } = await store.db.transaction().execute(async (trx) => {
      // A capture sent again with its idempotency key (the booth app retrying after a lost answer, two tabs, two
      // hubs) waits here for the first one to commit, then answers what it captured.
      if (args.clientId !== undefined) {
        const key = await claimCaptureKey(trx, { event: args.event, exhibitor: exhibitor.id, clientId: args.clientId, ticket });
        if (!key.claimed) {
          const first = await leadByTicket(trx, args.event, exhibitor.id, key.ticket);
          if (!first) throw new NotFoundError('lead', args.clientId);
          return { kind: 'repeated' as const, lead: first, seq: await bus.head(topic(args.event, exhibitor.id)) };
        }
      }
      const outcome = await captureLead(trx, {
        event: args.event,
        exhibitor: exhibitor.id,
        ticket,
        capturedBy: claims.sub,
        rating: args.rating,
        notes: args.notes,
        tags: args.tags,
        scanId: args.scanId,
      });
      if (outcome.kind === 'repeated') return { ...outcome, seq: await bus.head(topic(args.event, exhibitor.id)) };
      await recordAnalytics(trx, {
        ts: at,
        event: args.event,
        kind: outcome.kind === 'created' ? 'lead.captured' : 'lead.rescanned',
        actor: claims.sub,
        zone: exhibitor.zone,
        exhibitor: exhibitor.id,
        ticket,
        properties: { lead: outcome.lead.id, rating: outcome.lead.rating, visits: outcome.lead.visits, tags: outcome.lead.tags.length },
      });
      const message: LeadMessage = { type: outcome.kind === 'created' ? 'captured' : 'rescanned', lead: outcome.lead, at };
      return { ...outcome, seq: (await bus.publish(topic(args.event, exhibitor.id), message)).seq };
    });
    return { lead, created: kind === 'created', seq };
  };

  const update: CommandHandler<'lead.update'> = async (args, { claims }) => {
    const exhibitor = await booth(args.event, args.exhibitor);
    const at = Date.now();
    const { lead, seq } = await store.db.transaction().execute(async (trx) => {
      const changed: Lead | null = await updateLead(trx, args.event, exhibitor.id, args.lead, { rating: args.rating, notes: args.notes, tags: args.tags });
      if (!changed) throw new NotFoundError('lead', args.lead);
      await recordAnalytics(trx, {
        ts: at,
        event: args.event,
        kind: 'lead.updated',
        actor: claims.sub,
        zone: exhibitor.zone,
        exhibitor: exhibitor.id,
        properties: { lead: changed.id, rating: changed.rating, tags: changed.tags.length },
      });
      const message: LeadMessage = { type: 'updated', lead: changed, at };
      return { lead: changed, seq: (await bus.publish(topic(args.event, exhibitor.id), message)).seq };
    });
    return { lead, seq };
  };

  return { commands: { 'lead.capture': capture, 'lead.update': update } };
}
