/**
 * Occupancy change per zone and bucket straight from the raw `events` table (the straightforward way, with no view):
 * each admitted scan paired with the ticket's previous one. Columns `zone`, `bucket`, `delta`; the `{event:String}`
 * parameter names the event. The baseline the bench's heatmap is measured against and the reference the views'
 * test compares with.
 */
export function rawZoneDeltasSql(bucketMs: number): string {
  return `
SELECT zone, bucket, sum(delta) AS delta FROM (
  SELECT intDiv(toUnixTimestamp64Milli(ts), ${bucketMs}) * ${bucketMs} AS bucket,
         arrayJoin([(if(inside = 1, toString(scan_zone), ''), 1), (if(previous_inside = 1, toString(previous_zone), ''), -1)]) AS change,
         change.1 AS zone, change.2 AS delta
  FROM (
    SELECT ts, zone AS scan_zone, toUInt8(kind = 'scan.in.admitted') AS inside,
           lagInFrame(zone) OVER w AS previous_zone, lagInFrame(toUInt8(kind = 'scan.in.admitted'), 1, 0) OVER w AS previous_inside
    FROM events WHERE event = {event:String} AND kind IN ('scan.in.admitted', 'scan.out.admitted')
    WINDOW w AS (PARTITION BY ticket ORDER BY ts ROWS BETWEEN 1 PRECEDING AND CURRENT ROW)
  )
) WHERE zone != '' GROUP BY zone, bucket`;
}
