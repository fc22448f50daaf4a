-- Version 1: accounts and their messages.

-- One row per Account ID seen, so messages carry an 8-byte integer instead of
-- the 33-byte ID in the table and in every index entry. messages and bytes
-- are kept by the triggers below; they make quota checks and Stats a single
-- row read instead of a scan.
CREATE TABLE accounts (
    id       INTEGER PRIMARY KEY,
    account  BLOB    NOT NULL UNIQUE CHECK (length(account) = 33),
    messages INTEGER NOT NULL DEFAULT 0,
    bytes    INTEGER NOT NULL DEFAULT 0
) STRICT;

-- Times are Unix milliseconds. size duplicates length(data) so that the
-- counters, quota checks and eviction never read a blob's overflow pages.
-- data is the last column: reading the others touches only the row's first
-- page.
CREATE TABLE messages (
    id         INTEGER PRIMARY KEY,
    account_id INTEGER NOT NULL REFERENCES accounts(id),
    namespace  INTEGER NOT NULL,
    hash       TEXT    NOT NULL,
    timestamp  INTEGER NOT NULL,
    expiry     INTEGER NOT NULL,
    size       INTEGER NOT NULL,
    data       BLOB    NOT NULL
) STRICT;

-- A hash commits to the account and the namespace, so (account, hash) is
-- unique; Delete, SetExpiry and anti-entropy look messages up by it.
CREATE UNIQUE INDEX messages_hash ON messages (account_id, hash);

-- Serves List in the swarm-wide order without a sort, and DeleteBefore.
CREATE INDEX messages_list ON messages (account_id, namespace, timestamp, hash);

-- Serves Sweep.
CREATE INDEX messages_expiry ON messages (expiry);

CREATE TRIGGER messages_count_insert AFTER INSERT ON messages BEGIN
    UPDATE accounts SET messages = messages + 1, bytes = bytes + NEW.size
    WHERE id = NEW.account_id;
END;

CREATE TRIGGER messages_count_delete AFTER DELETE ON messages BEGIN
    UPDATE accounts SET messages = messages - 1, bytes = bytes - OLD.size
    WHERE id = OLD.account_id;
END;
