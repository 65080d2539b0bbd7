-- Exactly-once ingest from the Store's analytics outbox (hub/src/analytics/outbox-relay.ts).
--
-- oid: the outbox row's id, so a row in ClickHouse can be traced to the fact it describes and counted once by id
-- (`uniqExact(oid)` against `count()` is how the tests check that nothing arrived twice). 0 for rows recorded
-- straight into ClickHouse, without the outbox.
--
-- Deduplication is per batch: the relay records each batch in the Store before it sends it and sends a batch again,
-- after a crash or a lost answer, as the very same rows with the very same insert_deduplication_token, which the
-- tables' deduplication windows (001 to 005) recognise; the views are deduplicated with their table
-- (deduplicate_blocks_in_dependent_materialized_views, on by default).
ALTER TABLE events ADD COLUMN IF NOT EXISTS oid UInt64 DEFAULT 0;

-- Which data this is: one random id, made when the tables are. A relay's progress in the Store is kept per target,
-- and an embedded chDB names itself by this id, so each hub's chDB has its own cursor through the whole outbox, and a
-- chDB whose folder was wiped is a new target that is filled again from the start.
CREATE TABLE IF NOT EXISTS relay_identity
(
    id String,
    created DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = MergeTree
ORDER BY (created, id);
