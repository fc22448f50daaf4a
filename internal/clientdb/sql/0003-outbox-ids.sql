-- Outbox IDs are never reused (AUTOINCREMENT). Two processes may flush one
-- home's outbox at once; each reports its result by item ID. With plain
-- rowids, an item queued after another was removed could get the removed
-- one's ID, and the slower process's "sent" removed the new item unsent.
CREATE TABLE outbox_ids (
  id         INTEGER PRIMARY KEY AUTOINCREMENT,
  -- random row identity bound into the sealed item's associated data
  ref        BLOB NOT NULL UNIQUE,
  message_id INTEGER REFERENCES messages(id) ON DELETE CASCADE,
  attempts   INTEGER NOT NULL,
  next_ms    INTEGER NOT NULL,
  created_ms INTEGER NOT NULL,
  sealed     BLOB NOT NULL
) STRICT;
INSERT INTO outbox_ids(id, ref, message_id, attempts, next_ms, created_ms, sealed)
  SELECT id, ref, message_id, attempts, next_ms, created_ms, sealed FROM outbox;
DROP TABLE outbox;
ALTER TABLE outbox_ids RENAME TO outbox;
CREATE INDEX outbox_due ON outbox(next_ms, id);
