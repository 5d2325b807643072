-- The address a request came from (the client's, through trusted proxies), for the audit viewer.
-- Empty for the server's own actions (daily backups) and for lines written before this version.
ALTER TABLE audit ADD COLUMN address TEXT NOT NULL DEFAULT '';
