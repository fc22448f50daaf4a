-- Devices of the user's own account and of contacts, as their signed
-- announcements named them (DESIGN.md §5 "Multi-device"), so the client can
-- list linked devices and warn when a new one appears.
CREATE TABLE devices (
  -- keyed hash of (Account ID, device ID)
  device_key    BLOB PRIMARY KEY,
  account_key   BLOB NOT NULL,
  sealed        BLOB NOT NULL,
  first_seen_ms INTEGER NOT NULL,
  last_seen_ms  INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
CREATE INDEX devices_account ON devices(account_key);
