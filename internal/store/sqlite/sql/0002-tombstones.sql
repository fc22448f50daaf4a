-- Version 2: tombstones of deleted messages.

-- A deleted message's hash is kept until the message would have expired, so
-- that a swarm peer re-sending it (a forward that raced the delete, or
-- anti-entropy from a member that missed the delete) cannot bring it back.
CREATE TABLE tombstones (
    account_id INTEGER NOT NULL REFERENCES accounts(id),
    hash       TEXT    NOT NULL,
    expiry     INTEGER NOT NULL,
    PRIMARY KEY (account_id, hash)
) STRICT, WITHOUT ROWID;

CREATE INDEX tombstones_expiry ON tombstones (expiry);
