-- A number taken from home (channel 'phone') waits in the hall only from its check-in: when the
-- kiosk or an official checked it in. NULL for tickets taken in the hall and for numbers from
-- home never checked in.
ALTER TABLE tickets ADD COLUMN checked_in_at INTEGER;
