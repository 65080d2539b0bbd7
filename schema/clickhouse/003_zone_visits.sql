-- Entries per zone per minute, and booth visits. A visit is an admitted `in` into a zone (exhibitor '') or a badge
-- scan by a booth's staff (`lead.captured`, `lead.rescanned`: exhibitor set, zone = the booth's zone). A booth's
-- visits are the entries into its zone plus its own badge scans.
CREATE TABLE IF NOT EXISTS zone_visits_1m
(
    event LowCardinality(String),
    zone LowCardinality(String),
    exhibitor LowCardinality(String),
    minute DateTime('UTC'),
    visits UInt64
)
ENGINE = SummingMergeTree
PARTITION BY toDate(minute)
ORDER BY (event, zone, exhibitor, minute)
SETTINGS non_replicated_deduplication_window = 1000;

CREATE MATERIALIZED VIEW IF NOT EXISTS zone_visits_1m_mv TO zone_visits_1m AS
SELECT event, zone, exhibitor, toStartOfMinute(toDateTime(ts, 'UTC')) AS minute, count() AS visits
FROM events
WHERE kind IN ('scan.in.admitted', 'lead.captured', 'lead.rescanned')
GROUP BY event, zone, exhibitor, minute;
