-- Media at rest (issue 17). An attachment row now keeps where its file is
-- in the attachment's life: state (1 pending, 2 downloading, 3 ready,
-- 4 cleared, 5 expired, 6 failed; in the clear, like the status of a
-- message, so the receive loop and "clear media" find rows by it), the
-- name of its local file under HOME/media (random, sealed all the same, so
-- a seized database does not tie a file to a message), that file's size
-- (on disk anyway), the inline thumbnail (sealed) and its size, and, for
-- attachments this device uploaded, the pieces' delete capabilities
-- (sealed). Rows of earlier versions are pending: nothing was downloaded.
ALTER TABLE attachments ADD COLUMN state INTEGER NOT NULL DEFAULT 1;
ALTER TABLE attachments ADD COLUMN local_sealed BLOB;
ALTER TABLE attachments ADD COLUMN local_bytes INTEGER NOT NULL DEFAULT 0;
ALTER TABLE attachments ADD COLUMN thumb_sealed BLOB;
ALTER TABLE attachments ADD COLUMN thumb_bytes INTEGER NOT NULL DEFAULT 0;
ALTER TABLE attachments ADD COLUMN tokens_sealed BLOB;
CREATE INDEX attachments_state ON attachments(state);
