import { foundation } from './0001-foundation.ts';
import { engagement } from './0002-engagement.ts';
import { gates } from './0003-gates.ts';
import { capacity } from './0004-capacity.ts';
import { join } from './0005-join.ts';
import { leads } from './0006-leads.ts';
import { announcementOrder } from './0007-announcement-order.ts';
import { trust } from './0008-trust.ts';
import { boxOffice } from './0012-box-office.ts';
import { push } from './0013-push.ts';
import { levers } from './0015-levers.ts';
import { pairing } from './0016-pairing.ts';
import { analyticsOutbox } from './0017-analytics-outbox.ts';
import { sessions } from './0018-sessions.ts';
import { capacityEscalations } from './0019-capacity-escalations.ts';
import { sessionOverflow } from './0020-session-overflow.ts';
import { analyticsErasure } from './0021-analytics-erasure.ts';
import { emergency } from './0024-emergency.ts';
import type { SqlMigration } from './sql-migration.ts';

export type { SqlMigration } from './sql-migration.ts';

/**
 * Every migration, keyed by name; names sort in the order they run. Append new ones, never edit or rename one
 * that has shipped: databases remember migrations by name.
 *
 * @example import { migrations } from '@opshub/schema/migrations/index';
 */
export const migrations: Readonly<Record<string, SqlMigration>> = {
  '0001-foundation': foundation,
  '0002-engagement': engagement,
  '0003-gates': gates,
  '0004-capacity': capacity,
  '0005-join': join,
  '0006-leads': leads,
  '0007-announcement-order': announcementOrder,
  '0008-trust': trust,
  '0012-box-office': boxOffice,
  '0013-push': push,
  '0015-levers': levers,
  '0016-pairing': pairing,
  '0017-analytics-outbox': analyticsOutbox,
  '0018-sessions': sessions,
  '0019-capacity-escalations': capacityEscalations,
  '0020-session-overflow': sessionOverflow,
  '0021-analytics-erasure': analyticsErasure,
  '0024-emergency': emergency,
};
