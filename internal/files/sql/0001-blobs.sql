-- One row per stored blob. A blob is visible only once its row exists:
-- its file is written and renamed into place first (internal/files,
-- "Storage"). The server keeps nothing else about a blob: no uploader,
-- no relay, no time of upload, no download count.
CREATE TABLE blobs (
    id         BLOB PRIMARY KEY CHECK (length(id) = 32), -- random, never derived from content
    size       INTEGER NOT NULL CHECK (size > 0),        -- bytes of the file (ciphertext to the server)
    expires_ms INTEGER NOT NULL,                          -- Unix milliseconds
    token_hash BLOB NOT NULL CHECK (length(token_hash) = 32) -- SHA-256 of the delete/extend token
) WITHOUT ROWID;

CREATE INDEX blobs_by_expiry ON blobs (expires_ms);
