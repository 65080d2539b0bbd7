-- The raw analytics stream: one row per stream event (check-ins, capacity moves, votes, questions, chat, leads, sales).
-- Dashboards and heatmaps read from here. Later files (002_..., 003_...) add materialized views over this table.
-- The loader drops whole-line comments and splits on semicolons: no semicolon inside a string literal.
--
-- PARTITION BY toDate(ts): dashboards ask about "today" (or one day of a multi-day event), so a day prunes to one
-- partition, and retention is a cheap DROP PARTITION per day. Partitioning by event instead would cut every insert
-- batch into one part per event present in it (a hub serving many events would make many tiny parts per second).
-- A batch spans about a second, so it almost always lands in one partition.
--
-- ORDER BY (event, kind, exhibitor, session, ts): every query names one event and usually a kind or kind prefix.
-- After that, sponsor pages filter on their booth (exhibitor) and sponsored-session pages on a session. A kind uses
-- at most one of those two dimensions and leaves the other empty, so for any one kind the key is effectively
-- (event, kind, that dimension, ts): a booth's or a session's time range is one contiguous read, and kinds that use
-- neither (check-ins, capacity) keep (event, kind, ts) for their time-bucketed rates.
--
-- ts carries the UTC zone explicitly so the partition day and the text form do not depend on the server's timezone
-- (chDB runs in UTC, a server may not). Rows are inserted as epoch milliseconds, which is zone-free anyway.
--
-- non_replicated_deduplication_window: the hub retries a failed batch with the same insert_deduplication_token, so an
-- insert that was stored but whose answer was lost is not stored twice. The window must hold the hashes of every block
-- inserted between a batch and its retry. Retries come within the capped backoff (30 s), so 1000 blocks leaves room
-- for many hub processes inserting into one table.
CREATE TABLE IF NOT EXISTS events
(
    ts DateTime64(3, 'UTC'),
    event LowCardinality(String),
    kind LowCardinality(String),
    actor String,
    zone LowCardinality(String),
    session LowCardinality(String),
    exhibitor LowCardinality(String),
    ticket String,
    properties String CODEC(ZSTD(3))
)
ENGINE = MergeTree
PARTITION BY toDate(ts)
ORDER BY (event, kind, exhibitor, session, ts)
SETTINGS non_replicated_deduplication_window = 1000;
