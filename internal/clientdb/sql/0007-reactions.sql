-- Emoji reactions (issue 22). One row per (message, reactor, emoji): the
-- latest reaction or removal that person sent for that emoji, so a late,
-- older one cannot undo it. A reaction may arrive before its message (a
-- sync copy, a history share), so rows name their target by the message's
-- keyed hash (messages.msg_key), not by a foreign key; deleting a message
-- deletes its reactions in the same transaction, and ExpireDue drops rows
-- whose message never came. In the clear: only the keyed hashes, the
-- conversation and when the row was written here; who reacted, with what,
-- when they sent it and whether it was withdrawn are sealed.
CREATE TABLE reactions (
  -- keyed hash of (message key, reactor Account ID, emoji)
  reaction_key BLOB PRIMARY KEY,
  -- the target's messages.msg_key
  target_key   BLOB NOT NULL,
  conv_id      INTEGER NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
  received_ms  INTEGER NOT NULL,
  sealed       BLOB NOT NULL
) STRICT, WITHOUT ROWID;
CREATE INDEX reactions_target ON reactions(target_key);
