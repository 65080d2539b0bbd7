export type { Analytics, AnalyticsEvent, AnalyticsStats } from './analytics.ts';
export type { AnalyticsClient, AnalyticsClientFactory } from './analytics-client.ts';
export { ClickHouseAnalytics, type ClickHouseAnalyticsOptions } from './clickhouse-analytics.ts';
export { AnalyticsClosedError, AnalyticsNotStartedError, AnalyticsStartError } from './errors.ts';
export { createAnalytics, type CreateAnalyticsOptions } from './create-analytics.ts';
// The two client factories are deliberately not re-exported: importing them loads `chdb` (a native engine) or the
// HTTP client. Import './chdb-client.ts' or './server-client.ts' directly, or let createAnalytics load the one it needs.
