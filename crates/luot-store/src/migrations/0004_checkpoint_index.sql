-- Recovery only looks up each site's last `day_opened` event. A partial index holds just those,
-- so the other events no longer pay an index insert each: about a sixth less to write per event
-- and a sixth smaller file.
DROP INDEX events_site_kind;
CREATE INDEX events_day_opened ON events (site, seq) WHERE kind = 'day_opened';
