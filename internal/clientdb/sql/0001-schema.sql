-- The client database's first schema. Columns named *_key hold keyed hashes
-- (HMAC-SHA256 under a key derived from the database key) used for lookups;
-- columns named sealed or *_sealed hold XChaCha20-Poly1305 ciphertexts. The
-- package doc lists what is in the clear and why.

-- meta holds the sealed check value that tells a wrong key at Open.
CREATE TABLE meta (
  name  TEXT PRIMARY KEY,
  value BLOB NOT NULL
) STRICT;

CREATE TABLE contacts (
  account_key     BLOB PRIMARY KEY,
  account_sealed  BLOB NOT NULL,
  -- NULL when the user gave no nickname; UNIQUE makes nicknames unique per
  -- user (NULLs never collide).
  nickname_key    BLOB UNIQUE,
  nickname_sealed BLOB,
  display_sealed  BLOB,
  accepted        INTEGER NOT NULL,
  blocked         INTEGER NOT NULL,
  created_ms      INTEGER NOT NULL
) STRICT, WITHOUT ROWID;

CREATE TABLE conversations (
  id               INTEGER PRIMARY KEY,
  peer_key         BLOB NOT NULL UNIQUE,
  peer_sealed      BLOB NOT NULL,
  disappear_mode   INTEGER NOT NULL,
  disappear_s      INTEGER NOT NULL,
  last_activity_ms INTEGER NOT NULL,
  created_ms       INTEGER NOT NULL
) STRICT;

CREATE TABLE messages (
  id             INTEGER PRIMARY KEY,
  conv_id        INTEGER NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
  -- keyed hash of (sender Account ID, sender's message ID): dedupe, lookups,
  -- tombstones, and the tie-break of the display order.
  msg_key        BLOB NOT NULL UNIQUE,
  outgoing       INTEGER NOT NULL,
  sent_ms        INTEGER NOT NULL,
  received_ms    INTEGER NOT NULL,
  status         INTEGER NOT NULL,
  disappear_mode INTEGER NOT NULL,
  disappear_s    INTEGER NOT NULL,
  read_ms        INTEGER,
  expires_ms     INTEGER,
  sealed         BLOB NOT NULL
) STRICT;
CREATE INDEX messages_order ON messages(conv_id, sent_ms, msg_key);
CREATE INDEX messages_expiry ON messages(expires_ms) WHERE expires_ms IS NOT NULL;
-- status 1 is StatusReceived: an incoming message not yet read.
CREATE INDEX messages_unread ON messages(conv_id) WHERE status = 1;

-- message_copies are the swarm hashes under which a message is stored
-- (the recipient's swarm, the sender's own sync copy).
CREATE TABLE message_copies (
  hash_key   BLOB PRIMARY KEY,
  message_id INTEGER NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
  sealed     BLOB NOT NULL
) STRICT, WITHOUT ROWID;
CREATE INDEX message_copies_message ON message_copies(message_id);

CREATE TABLE attachments (
  id         INTEGER PRIMARY KEY,
  message_id INTEGER NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
  idx        INTEGER NOT NULL,
  bytes      INTEGER NOT NULL,
  sealed     BLOB NOT NULL,
  UNIQUE (message_id, idx)
) STRICT;

CREATE TABLE outbox (
  id         INTEGER PRIMARY KEY,
  -- random row identity bound into the sealed item's associated data
  ref        BLOB NOT NULL UNIQUE,
  message_id INTEGER REFERENCES messages(id) ON DELETE CASCADE,
  attempts   INTEGER NOT NULL,
  next_ms    INTEGER NOT NULL,
  created_ms INTEGER NOT NULL,
  sealed     BLOB NOT NULL
) STRICT;
CREATE INDEX outbox_due ON outbox(next_ms, id);

CREATE TABLE seen (
  hash_key   BLOB PRIMARY KEY,
  expires_ms INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
CREATE INDEX seen_expiry ON seen(expires_ms);

-- kind 1: a conversation (key = keyed hash of the peer), deleted for every
-- message sent at or before before_ms; kind 2: one message (key = msg_key).
CREATE TABLE tombstones (
  kind       INTEGER NOT NULL,
  key        BLOB NOT NULL,
  before_ms  INTEGER NOT NULL,
  expires_ms INTEGER NOT NULL,
  PRIMARY KEY (kind, key)
) STRICT, WITHOUT ROWID;
CREATE INDEX tombstones_expiry ON tombstones(expires_ms);

CREATE TABLE cursors (
  name_key BLOB PRIMARY KEY,
  sealed   BLOB NOT NULL
) STRICT, WITHOUT ROWID;

CREATE TABLE settings (
  name_key BLOB PRIMARY KEY,
  sealed   BLOB NOT NULL
) STRICT, WITHOUT ROWID;
