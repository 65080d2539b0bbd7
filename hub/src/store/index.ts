/**
 * The Store: the system of record on PGlite (embedded) or PostgreSQL, and the repositories that read and write it.
 * Repositories are plain functions taking a `Kysely<Database>`, which may be a transaction.
 */
export type { Store } from './store.ts';
export { PgliteStore, type PgliteStoreOptions } from './pglite/pglite-store.ts';
export { PostgresStore, type PostgresStoreOptions } from './postgres/postgres-store.ts';
export { migrateToLatest, SqlMigrationProvider } from './migrate.ts';
export { ConflictError, DataDirLockedError, MigrationError, NotFoundError, TicketCsvError } from './errors.ts';
export { inTransaction } from './repos/in-transaction.ts';
export { createEvent, getEvent, type EventDetails } from './repos/events-repo.ts';
export { importTickets, revokeTicket, getTicket, listTickets, type Ticket, type ImportOptions } from './repos/tickets-repo.ts';
export { parseTicketCsv, ticketCsvColumns } from './repos/parse-ticket-csv.ts';
export { insertAnnouncement, listAnnouncements, type Announcement, type NewAnnouncement } from './repos/announcements-repo.ts';
export { appendAudit, listAudit, type AuditEntry, type AuditInput } from './repos/audit-log.ts';
