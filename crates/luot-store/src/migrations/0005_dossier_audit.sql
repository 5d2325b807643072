-- The dossier code (mã hồ sơ) an official attached to a ticket, so a rating can be tied to it.
ALTER TABLE tickets ADD COLUMN dossier TEXT;
-- The audit viewer pages through the log newest first, filtered by time, actor and action.
CREATE INDEX audit_at ON audit (at_ms, id);
