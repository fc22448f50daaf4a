-- Closed groups (issue 21). A group's conversation is an ordinary row of
-- conversations whose peer is the group's ID (prefix 03); the rows here
-- hold what only a group has: its state (name, members, roles, versions,
-- this account's member credential, the admin key when this account is an
-- admin), sealed as one value the client library defines, and the group
-- keys it received or made, each sealed on its own row so an expired key
-- goes with a secure delete of that row alone. In the clear: when each
-- row changed, a key's generation (its order among the group's keys) and
-- when it must be deleted.
CREATE TABLE groups (
  -- keyed hash of the group ID
  group_key  BLOB PRIMARY KEY,
  sealed     BLOB NOT NULL,
  updated_ms INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
CREATE TABLE group_keys (
  -- keyed hash of (group ID, key ID)
  key_ref    BLOB PRIMARY KEY,
  group_key  BLOB NOT NULL REFERENCES groups(group_key) ON DELETE CASCADE,
  generation INTEGER NOT NULL,
  sealed     BLOB NOT NULL,
  expires_ms INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
CREATE INDEX group_keys_group ON group_keys(group_key, generation);
CREATE INDEX group_keys_expiry ON group_keys(expires_ms);
