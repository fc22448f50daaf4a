-- Local message IDs (the public Message.ID) are never reused. messages is
-- a plain rowid table, which hands a deleted highest ID out again; a
-- daemon's client or another process still holding that ID would then act
-- on a different message. Rebuilding messages with AUTOINCREMENT would
-- need foreign keys off, which a migration's transaction cannot do
-- (dropping the table cascades into the outbox), so the insert takes its
-- ID from this high-water mark instead, and a trigger keeps the mark at
-- the highest ID ever given (an insert with its own ID included).
CREATE TABLE id_marks (
  name TEXT PRIMARY KEY,
  last INTEGER NOT NULL
) STRICT;
INSERT INTO id_marks(name, last) SELECT 'messages', coalesce(max(id), 0) FROM messages;
CREATE TRIGGER messages_id_mark AFTER INSERT ON messages BEGIN
  UPDATE id_marks SET last = max(last, new.id) WHERE name = 'messages';
END;
