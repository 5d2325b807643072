-- Small facts about the database itself; also the target of the writability probe.
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value ANY
) STRICT;
