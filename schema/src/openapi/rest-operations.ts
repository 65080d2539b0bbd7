import { z } from 'zod';
import type { Role } from '../claims.ts';
import { ChatState, MuteList, Poll, PollsState, QaState, WordList } from '../engagement.ts';
import { JoinCodeState, JoinRequest, JoinResponse, SetJoinCodeRequest } from '../join.ts';
import { Consent, ConsentRow, EngagementSeries, Exhibitor, ExhibitorBody, Heatmap, LeadPage, Sponsor, SponsorBody, SponsorSummary } from '../leads.ts';
import { MeshCredentials } from '../mesh-credentials.ts';
import { Directives, GateState, GateStateBody, ZoneState, ZoneStateBody } from '../commands/directives.ts';
import { RevokeTokenBody, TokenRevocation, TokenRevocationList } from '../revocations.ts';
import { ApiError, CreateEventBody, ImportResult, PatchEventBody, TicketRow } from '../rest.ts';
import {
  AlertList,
  AnnouncementList,
  CapacityState,
  CheckinSummary,
  Event,
  EventList,
  Health,
  IssuedTicket,
  TicketStatusChange,
} from '../rest-answers.ts';
import { BoxOfficeState, CreateSaleBody, CreateSaleResult, PaymentTickets, PutTicketTypesBody, RefundBody, RevenueSummary, Sale } from '../commands/box-office.ts';
import { PushDeliveriesQuery, PushDeliveryList, PushSubscribeBody, PushSubscriptionState, PushUnsubscribeBody, VapidPublicKey } from '../rest/push.ts';
import { PatchSessionBody, SessionAttendance, SessionList, Session, SessionsBody } from '../commands/sessions.ts';
import { AuditPage, AuditQuery, GatePairing, PairedDevice, PairedDeviceList, PairGateBody, TicketDetail, TicketList, TicketSearchQuery } from '../rest/setup.ts';
import { AnalyticsErasure, AnalyticsErasureBody, AnalyticsExportQuery } from '../rest/analytics.ts';
import { AnnouncementsQuery, ChatQuery, ConsentQuery, HeatmapQuery, LeadPageQuery, PollsQuery, QaQuery, RangeQuery } from '../rest-queries.ts';

const oneOrMany = <T extends z.ZodType>(item: T) => z.union([item, z.array(item).max(1000)]);

/** Request bodies, by the component name they get in the OpenAPI document (described as clients send them). */
export const requestSchemas = {
  GateStateBody,
  ZoneStateBody,
  CreateEventBody,
  PatchEventBody,
  TicketRow,
  Roster: z.array(TicketRow).describe('the roster as JSON; or `text/csv` with the header `code,holder,email,type,zones`'),
  IssueTicketBody: TicketRow.omit({ code: true }).extend({ code: TicketRow.shape.code.optional() }),
  SponsorsBody: oneOrMany(SponsorBody),
  ExhibitorsBody: oneOrMany(ExhibitorBody),
  ConsentsBody: oneOrMany(ConsentRow),
  JoinRequest,
  SetJoinCodeRequest,
  PutTicketTypesBody,
  CreateSaleBody,
  RefundBody,
  PushSubscribeBody,
  PushUnsubscribeBody,
  PairGateBody,
  RevokeTokenBody,
  SessionsBody,
  PatchSessionBody,
  AnalyticsErasureBody,
  Empty: z.strictObject({}),
  StripeEvent: z
    .looseObject({ id: z.string(), object: z.literal('event'), type: z.string(), data: z.looseObject({ object: z.record(z.string(), z.unknown()) }) })
    .describe('a Stripe event, exactly as Stripe sends it (signed in the `Stripe-Signature` header)'),
};

/** Answers, by component name (described as the hub sends them). */
export const answerSchemas = {
  GateState,
  ZoneState,
  Directives,
  Error: ApiError,
  Health,
  Event,
  EventList,
  ImportResult,
  CheckinSummary,
  CapacityState,
  AlertList,
  AnnouncementList,
  IssuedTicket,
  TicketStatusChange,
  MeshCredentials,
  TokenRevocation,
  TokenRevocationList,
  PollsState,
  PollState: z.object({ seq: z.number().int(), poll: Poll.extend({ myVote: z.unknown() }) }),
  QaState,
  ChatState,
  WordList,
  MuteList,
  SponsorList: z.object({ sponsors: z.array(Sponsor.omit({ exhibitors: true })) }),
  Sponsor,
  ExhibitorList: z.object({ exhibitors: z.array(Exhibitor) }),
  ConsentPage: z.object({ consents: z.array(Consent), next: z.string().nullable() }),
  LeadPage,
  JoinResponse,
  JoinCodeState,
  Heatmap,
  SponsorSummary,
  EngagementSeries,
  TicketTypes: PutTicketTypesBody,
  BoxOfficeState,
  Sale,
  CreateSaleResult,
  PaymentTickets,
  RevenueSummary,
  WebhookAnswer: z.object({ received: z.literal(true), outcome: z.string() }),
  VapidPublicKey,
  PushSubscriptionState,
  PushDeliveryList,
  TicketList,
  TicketDetail,
  AuditPage,
  GatePairing,
  PairedDevice,
  PairedDeviceList,
  Session,
  SessionList,
  SessionAttendance,
  AnalyticsErasure,
};

export type RequestName = keyof typeof requestSchemas;
export type AnswerName = keyof typeof answerSchemas;

/** One REST operation as the document describes it. `path` is in OpenAPI form (`/api/v1/events/{e}`). */
export interface RestOperation {
  /** the operationId; generated from method and path when absent (see `operationId`) */
  readonly id?: string;
  readonly method: 'get' | 'post' | 'put' | 'patch' | 'delete';
  readonly path: string;
  readonly summary: string;
  readonly tag: string;
  /** who may call it; `public` needs no token */
  readonly roles: readonly Role[] | 'any role of the event' | 'public';
  readonly query?: z.ZodObject;
  /** the JSON body; `csv` when `text/csv` is accepted too */
  readonly body?: { readonly schema: RequestName; readonly csv?: boolean };
  /** the success status and its body: a named schema, or a media type for non-JSON answers */
  readonly answer: { readonly status: 200 | 201 | 204; readonly schema?: AnswerName; readonly media?: string; readonly description?: string };
}

const staff: readonly Role[] = ['admin', 'staff'];
const runners: readonly Role[] = ['admin', 'staff', 'moderator'];

/**
 * Every REST route the hub serves, in the order `docs/api.md` lists them. A test compares this table with the
 * routes a running hub registers, both ways: a route added to the hub without an entry here fails CI.
 */
export const restOperations: readonly RestOperation[] = [
  { method: 'get', path: '/healthz', tag: 'operations', summary: 'Backends in use and whether the bus answers (503 when not)', roles: 'public', answer: { status: 200, schema: 'Health' } },
  { method: 'get', path: '/metrics', tag: 'operations', summary: 'Prometheus metrics', roles: 'public', answer: { status: 200, media: 'text/plain; version=0.0.4', description: 'Prometheus text format' } },
  { method: 'get', path: '/api/v1/openapi.json', tag: 'operations', summary: 'This document', roles: 'public', answer: { status: 200, media: 'application/json', description: 'OpenAPI 3.1' } },

  { id: 'listEvents', method: 'get', path: '/api/v1/events', tag: 'events', summary: 'The events the token may see, by id', roles: 'any role of the event', answer: { status: 200, schema: 'EventList' } },
  { id: 'createEvent', method: 'post', path: '/api/v1/events', tag: 'events', summary: 'Create an event with its zones and gates (409 if the id exists)', roles: staff, body: { schema: 'CreateEventBody' }, answer: { status: 201, schema: 'Event' } },
  { id: 'getEvent', method: 'get', path: '/api/v1/events/{e}', tag: 'events', summary: 'An event with its zones and gates', roles: 'any role of the event', answer: { status: 200, schema: 'Event' } },
  {
    id: 'updateEvent',
    method: 'patch',
    path: '/api/v1/events/{e}',
    tag: 'events',
    summary: 'Edit name, time zone, zones and gates (whole lists); reaches every gate replica. Removing a zone or gate with scans is 409 with the reason',
    roles: staff,
    body: { schema: 'PatchEventBody' },
    answer: { status: 200, schema: 'Event' },
  },
  {
    method: 'post',
    path: '/api/v1/events/{e}/tickets',
    tag: 'tickets',
    summary: 'Import a roster (JSON array or CSV), idempotent by code',
    roles: staff,
    body: { schema: 'Roster', csv: true },
    answer: { status: 200, schema: 'ImportResult' },
  },
  { method: 'put', path: '/api/v1/events/{e}/ticket-types', tag: 'box office', summary: 'Replace the event\'s ticket types (prices in minor units; audited)', roles: staff, body: { schema: 'PutTicketTypesBody' }, answer: { status: 200, schema: 'TicketTypes' } },
  { method: 'get', path: '/api/v1/events/{e}/box-office', tag: 'box office', summary: 'Ticket types, whether card payments are available (and why not), recent sales', roles: staff, answer: { status: 200, schema: 'BoxOfficeState' } },
  { method: 'post', path: '/api/v1/events/{e}/box-office/sales', tag: 'box office', summary: 'A door sale: cash (paid, tickets issued) or card (pending until Stripe confirms)', roles: staff, body: { schema: 'CreateSaleBody' }, answer: { status: 201, schema: 'CreateSaleResult' } },
  { method: 'get', path: '/api/v1/events/{e}/box-office/sales/{sale}', tag: 'box office', summary: 'A sale with its tickets and their signed tokens', roles: staff, answer: { status: 200, schema: 'Sale' } },
  { method: 'post', path: '/api/v1/events/{e}/box-office/sales/{sale}/refund', tag: 'box office', summary: 'Refund a sale or some of its tickets (revoked at every gate at once)', roles: staff, body: { schema: 'RefundBody' }, answer: { status: 200, schema: 'Sale' } },
  { method: 'post', path: '/api/v1/events/{e}/box-office/sales/{sale}/cancel', tag: 'box office', summary: 'Cancel an unpaid card sale', roles: staff, body: { schema: 'Empty' }, answer: { status: 200, schema: 'Sale' } },
  { method: 'get', path: '/api/v1/events/{e}/box-office/payments/{pi}', tag: 'box office', summary: 'The tickets a Stripe PaymentIntent issued', roles: staff, answer: { status: 200, schema: 'PaymentTickets' } },
  { method: 'get', path: '/api/v1/events/{e}/revenue/summary', tag: 'box office', summary: 'Gross, refunds and net in minor units, by ticket type and channel, per minute', roles: staff, answer: { status: 200, schema: 'RevenueSummary' } },
  { method: 'post', path: '/api/v1/stripe/webhook', tag: 'box office', summary: 'Stripe\'s events, verified by the Stripe-Signature header (400 and nothing written when it does not verify)', roles: 'public', body: { schema: 'StripeEvent' }, answer: { status: 200, schema: 'WebhookAnswer' } },
  { method: 'post', path: '/api/v1/events/{e}/tickets/issue', tag: 'tickets', summary: 'Issue a box-office ticket with a signed, offline-valid code', roles: staff, body: { schema: 'IssueTicketBody' }, answer: { status: 201, schema: 'IssuedTicket' } },
  { method: 'post', path: '/api/v1/events/{e}/tickets/{code}/revoke', tag: 'tickets', summary: 'Revoke a ticket (reaches every connected gate before the answer)', roles: staff, answer: { status: 200, schema: 'TicketStatusChange' } },
  { id: 'searchTickets', method: 'get', path: '/api/v1/events/{e}/tickets', tag: 'tickets', summary: 'Search the roster by code (exact or prefix), name or email', roles: staff, query: TicketSearchQuery, answer: { status: 200, schema: 'TicketList' } },
  { id: 'getTicket', method: 'get', path: '/api/v1/events/{e}/tickets/{code}', tag: 'tickets', summary: 'A ticket: status, scans across gates (newest first) and its signed code to print', roles: staff, answer: { status: 200, schema: 'TicketDetail' } },
  { method: 'post', path: '/api/v1/events/{e}/tickets/{code}/unrevoke', tag: 'tickets', summary: 'Undo a revocation (audited; reaches every connected gate before the answer)', roles: staff, answer: { status: 200, schema: 'TicketStatusChange' } },
  { method: 'get', path: '/api/v1/events/{e}/audit', tag: 'audit', summary: 'The audit log, newest first, filtered by actor, action (or prefix `ticket.`), object and time', roles: staff, query: AuditQuery, answer: { status: 200, schema: 'AuditPage' } },
  { method: 'get', path: '/api/v1/events/{e}/audit.csv', tag: 'audit', summary: 'The same filter as CSV (formula-safe, at most 100,000 rows)', roles: staff, query: AuditQuery, answer: { status: 200, media: 'text/csv; charset=utf-8', description: 'UTF-8 BOM, CRLF, RFC 4180' } },
  { method: 'post', path: '/api/v1/events/{e}/gates/{g}/pairings', tag: 'gates', summary: 'Pair a laptop with a gate: a fresh, expiring gate token (shown once) and the agent\'s arguments (audited)', roles: staff, body: { schema: 'PairGateBody' }, answer: { status: 201, schema: 'GatePairing' } },
  { id: 'listPairings', method: 'get', path: '/api/v1/events/{e}/pairings', tag: 'gates', summary: 'Laptops paired with the event\'s gates, newest first', roles: staff, answer: { status: 200, schema: 'PairedDeviceList' } },
  { method: 'delete', path: '/api/v1/events/{e}/pairings/{d}', tag: 'gates', summary: 'Unpair a laptop: its token\'s subject goes on the revocation list (audited)', roles: staff, answer: { status: 200, schema: 'PairedDevice' } },

  { method: 'post', path: '/api/v1/auth/revocations', tag: 'auth', summary: 'End a token (jti) or every token of a subject issued until now (sub), on every hub: refused from then on, open sockets closed with 4401', roles: ['admin'], body: { schema: 'RevokeTokenBody' }, answer: { status: 201, schema: 'TokenRevocation' } },
  { method: 'get', path: '/api/v1/auth/revocations', tag: 'auth', summary: 'The token revocation list', roles: ['admin'], answer: { status: 200, schema: 'TokenRevocationList' } },
  { method: 'post', path: '/api/v1/events/{e}/gates/{g}/mesh-credentials', tag: 'gates', summary: 'Pair a gate laptop with the venue mesh: its mesh key (shared by the event\'s gates) and scan key (its own); a gate token only for its own gate', roles: ['admin', 'staff', 'gate'], body: { schema: 'Empty' }, answer: { status: 200, schema: 'MeshCredentials' } },
  { method: 'get', path: '/api/v1/events/{e}/checkins/summary', tag: 'gates', summary: 'Registered, checked in, inside, per gate and zone, duplicates', roles: ['admin', 'staff', 'gate'], answer: { status: 200, schema: 'CheckinSummary' } },
  { method: 'get', path: '/api/v1/events/{e}/capacity', tag: 'gates', summary: 'Occupancy per zone', roles: ['admin', 'staff', 'gate'], answer: { status: 200, schema: 'CapacityState' } },
  { method: 'put', path: '/api/v1/events/{e}/gates/{g}/state', tag: 'gates', summary: 'Open, hold or close a gate, with a message for its screen (audited; in every gate replica within a second, through the hub or the mesh)', roles: staff, body: { schema: 'GateStateBody' }, answer: { status: 200, schema: 'GateState' } },
  { method: 'put', path: '/api/v1/events/{e}/zones/{z}/state', tag: 'gates', summary: 'A zone\'s door policy: full, redirect zone, enforce off|warn|refuse (only the fields given change; audited)', roles: staff, body: { schema: 'ZoneStateBody' }, answer: { status: 200, schema: 'ZoneState' } },
  { method: 'get', path: '/api/v1/events/{e}/directives', tag: 'gates', summary: 'Every gate\'s state and zone\'s door policy (defaults for those never set)', roles: ['admin', 'staff', 'gate'], answer: { status: 200, schema: 'Directives' } },
  { method: 'get', path: '/api/v1/events/{e}/alerts', tag: 'gates', summary: 'Open alerts, newest first', roles: staff, answer: { status: 200, schema: 'AlertList' } },
  { method: 'get', path: '/api/v1/events/{e}/announcements', tag: 'announcements', summary: 'The latest announcements, newest first', roles: 'any role of the event', query: AnnouncementsQuery, answer: { status: 200, schema: 'AnnouncementList' } },
  { method: 'get', path: '/api/v1/push/vapid-public-key', tag: 'web push', summary: 'The VAPID public key browsers subscribe with (applicationServerKey)', roles: 'public', answer: { status: 200, schema: 'VapidPublicKey' } },
  {
    method: 'post',
    path: '/api/v1/events/{e}/push/subscriptions',
    tag: 'web push',
    summary: 'Subscribe a browser (or change what it receives): https endpoints on a known push service or PUSH_ALLOWED_ORIGINS, else 400',
    roles: 'any role of the event',
    body: { schema: 'PushSubscribeBody' },
    answer: { status: 201, schema: 'PushSubscriptionState' },
  },
  { method: 'delete', path: '/api/v1/events/{e}/push/subscriptions', tag: 'web push', summary: 'Unsubscribe a browser by its endpoint (404 when the caller has none such)', roles: 'any role of the event', body: { schema: 'PushUnsubscribeBody' }, answer: { status: 204 } },
  { method: 'get', path: '/api/v1/events/{e}/push/deliveries', tag: 'web push', summary: 'Delivery figures per push, newest first (live on event/{e}/push), and how many devices subscribed', roles: staff, query: PushDeliveriesQuery, answer: { status: 200, schema: 'PushDeliveryList' } },

  { id: 'upsertSessions', method: 'post', path: '/api/v1/events/{e}/sessions', tag: 'sessions', summary: 'Create sessions, or replace them by id: a room (zone), times, capacity, overflow room, sponsor (audited; 201 when one was new)', roles: staff, body: { schema: 'SessionsBody' }, answer: { status: 201, schema: 'SessionList' } },
  { id: 'listSessions', method: 'get', path: '/api/v1/events/{e}/sessions', tag: 'sessions', summary: 'The agenda: sessions in start order', roles: 'any role of the event', answer: { status: 200, schema: 'SessionList' } },
  { id: 'getSession', method: 'get', path: '/api/v1/events/{e}/sessions/{s}', tag: 'sessions', summary: 'One session', roles: 'any role of the event', answer: { status: 200, schema: 'Session' } },
  { id: 'updateSession', method: 'patch', path: '/api/v1/events/{e}/sessions/{s}', tag: 'sessions', summary: 'Change the fields given (null clears capacity, overflow or sponsor; audited)', roles: staff, body: { schema: 'PatchSessionBody' }, answer: { status: 200, schema: 'Session' } },
  { method: 'get', path: '/api/v1/events/{e}/sessions/{s}/attendance', tag: 'sessions', summary: 'In the room now, peak, unique attendees (from the gates) and participation (voters, askers, chatters over unique)', roles: ['admin', 'staff', 'moderator', 'sponsor'], answer: { status: 200, schema: 'SessionAttendance' } },

  { method: 'get', path: '/api/v1/events/{e}/polls', tag: 'engagement', summary: 'Polls (with the caller\'s vote) and the topic head', roles: ['admin', 'staff', 'moderator', 'attendee'], query: PollsQuery, answer: { status: 200, schema: 'PollsState' } },
  { id: 'getPoll', method: 'get', path: '/api/v1/events/{e}/polls/{poll}', tag: 'engagement', summary: 'One poll', roles: ['admin', 'staff', 'moderator', 'attendee'], answer: { status: 200, schema: 'PollState' } },
  { method: 'get', path: '/api/v1/events/{e}/qa/{session}', tag: 'engagement', summary: 'A session\'s questions (attendees: approved only)', roles: ['admin', 'staff', 'moderator', 'attendee'], query: QaQuery, answer: { status: 200, schema: 'QaState' } },
  { method: 'get', path: '/api/v1/events/{e}/chat/{room}', tag: 'engagement', summary: 'A chat room\'s latest messages', roles: ['admin', 'staff', 'moderator', 'attendee'], query: ChatQuery, answer: { status: 200, schema: 'ChatState' } },
  { method: 'get', path: '/api/v1/events/{e}/moderation/words', tag: 'engagement', summary: 'The event\'s restricted words', roles: runners, answer: { status: 200, schema: 'WordList' } },
  { method: 'get', path: '/api/v1/events/{e}/moderation/mutes', tag: 'engagement', summary: 'Mutes still running', roles: runners, answer: { status: 200, schema: 'MuteList' } },
  { method: 'post', path: '/api/v1/events/{e}/join', tag: 'engagement', summary: 'Exchange the event\'s join code for an attendee token', roles: 'public', body: { schema: 'JoinRequest' }, answer: { status: 201, schema: 'JoinResponse' } },
  { method: 'get', path: '/api/v1/events/{e}/join-code', tag: 'engagement', summary: 'The event\'s join code (generated on first read)', roles: runners, answer: { status: 200, schema: 'JoinCodeState' } },
  { method: 'post', path: '/api/v1/events/{e}/join-code', tag: 'engagement', summary: 'Set or rotate the join code', roles: runners, body: { schema: 'SetJoinCodeRequest' }, answer: { status: 200, schema: 'JoinCodeState' } },

  { method: 'post', path: '/api/v1/events/{e}/sponsors', tag: 'sponsors', summary: 'Create or update sponsors', roles: staff, body: { schema: 'SponsorsBody' }, answer: { status: 200, schema: 'SponsorList' } },
  { id: 'listSponsors', method: 'get', path: '/api/v1/events/{e}/sponsors', tag: 'sponsors', summary: 'Sponsors (a sponsor token: its own)', roles: ['admin', 'staff', 'sponsor'], answer: { status: 200, schema: 'SponsorList' } },
  { id: 'getSponsor', method: 'get', path: '/api/v1/events/{e}/sponsors/{s}', tag: 'sponsors', summary: 'A sponsor with its sessions and exhibitors', roles: ['admin', 'staff', 'sponsor', 'exhibitor'], answer: { status: 200, schema: 'Sponsor' } },
  { method: 'post', path: '/api/v1/events/{e}/exhibitors', tag: 'sponsors', summary: 'Create or update exhibitors', roles: staff, body: { schema: 'ExhibitorsBody' }, answer: { status: 200, schema: 'ExhibitorList' } },
  { method: 'get', path: '/api/v1/events/{e}/exhibitors', tag: 'sponsors', summary: 'Exhibitors the token may see', roles: ['admin', 'staff', 'sponsor', 'exhibitor'], answer: { status: 200, schema: 'ExhibitorList' } },
  { method: 'post', path: '/api/v1/events/{e}/consents', tag: 'sponsors', summary: 'Set which fields attendees share with exhibitors', roles: staff, body: { schema: 'ConsentsBody' }, answer: { status: 200, schema: 'ImportResult' } },
  { method: 'get', path: '/api/v1/events/{e}/consents', tag: 'sponsors', summary: 'Consents in code order, paged', roles: staff, query: ConsentQuery, answer: { status: 200, schema: 'ConsentPage' } },
  { method: 'get', path: '/api/v1/events/{e}/exhibitors/{x}/leads', tag: 'sponsors', summary: 'A booth\'s leads in capture order, paged', roles: ['admin', 'exhibitor', 'sponsor'], query: LeadPageQuery, answer: { status: 200, schema: 'LeadPage' } },
  { method: 'get', path: '/api/v1/events/{e}/exhibitors/{x}/leads.csv', tag: 'sponsors', summary: 'A booth\'s leads as CSV (formula-safe), streamed', roles: ['admin', 'exhibitor', 'sponsor'], answer: { status: 200, media: 'text/csv; charset=utf-8', description: 'UTF-8 BOM, CRLF, RFC 4180' } },
  { method: 'get', path: '/api/v1/events/{e}/analytics/heatmap', tag: 'analytics', summary: 'Zone occupancy or session engagement per time bucket', roles: ['admin', 'staff', 'sponsor', 'exhibitor'], query: HeatmapQuery, answer: { status: 200, schema: 'Heatmap' } },
  { method: 'get', path: '/api/v1/events/{e}/sponsors/{s}/summary', tag: 'analytics', summary: 'A sponsor\'s booths, leads and session engagement', roles: ['admin', 'staff', 'sponsor', 'exhibitor'], answer: { status: 200, schema: 'SponsorSummary' } },
  { method: 'get', path: '/api/v1/events/{e}/sponsors/{s}/engagement', tag: 'analytics', summary: 'Interactions per sponsored session against the event\'s', roles: ['admin', 'staff', 'sponsor'], query: RangeQuery, answer: { status: 200, schema: 'EngagementSeries' } },
  { method: 'get', path: '/api/v1/events/{e}/analytics/export', tag: 'analytics', summary: 'The event\'s raw analytics events, streamed as CSV (with a header row) or Parquet (audited)', roles: staff, query: AnalyticsExportQuery, answer: { status: 200, media: 'text/csv; charset=utf-8', description: 'CSV with names; `format=parquet` answers `application/vnd.apache.parquet`' } },
  { method: 'post', path: '/api/v1/events/{e}/analytics/erasures', tag: 'analytics', summary: 'Erase one attendee\'s analytics (GDPR): their rows in the outbox now, in every hub\'s ClickHouse as its relay applies it (audited)', roles: staff, body: { schema: 'AnalyticsErasureBody' }, answer: { status: 200, schema: 'AnalyticsErasure' } },
  { method: 'delete', path: '/api/v1/events/{e}/analytics', tag: 'analytics', summary: 'Erase the event\'s raw analytics and everything derived from them (audited)', roles: staff, answer: { status: 200, schema: 'AnalyticsErasure' } },
];
