-- Session engagement per minute: poll votes, questions, upvotes and chat messages.
--
-- Polls and Q&A are recorded with their session. Chat is recorded with its room (`properties.room`) and no session:
-- by convention a session's chat room carries the session's id, so a room counts as the session of that name (a room
-- that is no session, such as a lobby, shows up as a row of its own).
CREATE TABLE IF NOT EXISTS session_engagement_1m
(
    event LowCardinality(String),
    session LowCardinality(String),
    minute DateTime('UTC'),
    votes UInt64,
    questions UInt64,
    upvotes UInt64,
    chats UInt64
)
ENGINE = SummingMergeTree
PARTITION BY toDate(minute)
ORDER BY (event, session, minute)
SETTINGS non_replicated_deduplication_window = 1000;

CREATE MATERIALIZED VIEW IF NOT EXISTS session_engagement_1m_mv TO session_engagement_1m AS
SELECT
    event,
    room AS session,
    minute,
    countIf(kind = 'poll.vote') AS votes,
    countIf(kind = 'qa.question') AS questions,
    countIf(kind = 'qa.upvote') AS upvotes,
    countIf(kind = 'chat.message') AS chats
FROM
(
    SELECT
        event,
        kind,
        toStartOfMinute(toDateTime(ts, 'UTC')) AS minute,
        if(kind = 'chat.message' AND session = '', JSONExtractString(properties, 'room'), session) AS room
    FROM events
    WHERE kind IN ('poll.vote', 'qa.question', 'qa.upvote', 'chat.message')
)
WHERE room != ''
GROUP BY event, room, minute;
