-- Occupancy per zone over time: every admitted scan, ordered per ticket.
--
-- Who is inside which zone at a moment follows from each ticket's admitted scans up to it: the zone of the latest one
-- if it is an `in`, else none (the rule the gate replicas apply). A move from hall A to hall B is a single `in` at B,
-- so the -1 for A lives in the ticket's previous scan, which no per-block aggregate can see (scans arrive late from
-- gates that were offline). The heatmap therefore pairs each scan with the one before it, a window over the ticket.
-- This table keeps only what that pairing reads (a few bytes per scan instead of the raw row), sorted the way it reads
-- it, so the window's sort finds its input nearly in order. The hub keeps the paired history of an event and only
-- pairs what is new on later requests (hub/src/analytics/dashboards/occupancy-deltas.ts).
--
-- tk is cityHash64 of the ticket code: an 8-byte key partitions the window far faster than the code itself, and a
-- collision between two tickets of one event is out of reach at 2^64. inside: 1 for an admitted `in`, 0 for an
-- admitted `out`. Two admitted scans of one ticket in the same millisecond (two gates at once) are paired in storage
-- order.
CREATE TABLE IF NOT EXISTS zone_scans
(
    event LowCardinality(String),
    tk UInt64,
    ts DateTime64(3, 'UTC'),
    zone LowCardinality(String),
    inside UInt8
)
ENGINE = MergeTree
PARTITION BY toDate(ts)
ORDER BY (event, tk, ts)
SETTINGS non_replicated_deduplication_window = 1000;

CREATE MATERIALIZED VIEW IF NOT EXISTS zone_scans_mv TO zone_scans AS
SELECT event, cityHash64(ticket) AS tk, ts, zone, toUInt8(kind = 'scan.in.admitted') AS inside
FROM events
WHERE kind IN ('scan.in.admitted', 'scan.out.admitted');
