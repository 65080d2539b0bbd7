-- Unique visitors: who visited which zone (exhibitor '') or was scanned by which booth, one row per (zone, exhibitor,
-- ticket) once merged. A sponsor's "unique visitors" is uniqExact(ticket) over its booths' rows.
--
-- A set of rows rather than uniqExact states in an AggregatingMergeTree: a state per zone holds every ticket seen there,
-- so each background merge would rewrite all of them again; here a merge is a plain sorted merge that drops repeats,
-- and a query reads only the rows of the booths it asks about (they lead the sort key). Exact, not an estimate:
-- sponsors check this number against their lead list.
CREATE TABLE IF NOT EXISTS zone_visitors
(
    event LowCardinality(String),
    zone LowCardinality(String),
    exhibitor LowCardinality(String),
    ticket String
)
ENGINE = ReplacingMergeTree
ORDER BY (event, zone, exhibitor, ticket)
SETTINGS non_replicated_deduplication_window = 1000;

CREATE MATERIALIZED VIEW IF NOT EXISTS zone_visitors_mv TO zone_visitors AS
SELECT DISTINCT event, zone, exhibitor, ticket
FROM events
WHERE kind IN ('scan.in.admitted', 'lead.captured', 'lead.rescanned');
