-- Version 3: storage use per quota bucket.

-- Each public namespace (divisible by 10; strangers deposit there) is a
-- bucket of its own, and all owner-only namespaces share bucket 65536 (no
-- namespace, which is a 16-bit integer): a flood of deposits fills only
-- the bucket it is sent to and never the owner's room. Kept by the
-- triggers below, like accounts.messages and accounts.bytes, so that a
-- quota check is one row read. A bucket's row goes when it empties.
CREATE TABLE usage (
    account_id INTEGER NOT NULL REFERENCES accounts(id),
    bucket     INTEGER NOT NULL,
    messages   INTEGER NOT NULL,
    bytes      INTEGER NOT NULL,
    PRIMARY KEY (account_id, bucket)
) STRICT, WITHOUT ROWID;

-- SQLite's % keeps the dividend's sign, so -10 % 10 = 0 as in Go.
INSERT INTO usage (account_id, bucket, messages, bytes)
    SELECT account_id, CASE WHEN namespace % 10 = 0 THEN namespace ELSE 65536 END AS b, count(*), sum(size)
    FROM messages GROUP BY account_id, b;

CREATE TRIGGER usage_insert AFTER INSERT ON messages BEGIN
    INSERT INTO usage (account_id, bucket, messages, bytes)
    VALUES (NEW.account_id, CASE WHEN NEW.namespace % 10 = 0 THEN NEW.namespace ELSE 65536 END, 1, NEW.size)
    ON CONFLICT (account_id, bucket) DO UPDATE SET messages = messages + 1, bytes = bytes + excluded.bytes;
END;

CREATE TRIGGER usage_delete AFTER DELETE ON messages BEGIN
    UPDATE usage SET messages = messages - 1, bytes = bytes - OLD.size
    WHERE account_id = OLD.account_id
      AND bucket = CASE WHEN OLD.namespace % 10 = 0 THEN OLD.namespace ELSE 65536 END;
    DELETE FROM usage
    WHERE account_id = OLD.account_id
      AND bucket = CASE WHEN OLD.namespace % 10 = 0 THEN OLD.namespace ELSE 65536 END
      AND messages = 0;
END;
