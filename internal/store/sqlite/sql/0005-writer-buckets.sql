-- Version 5: a quota bucket per writer in a group swarm's messages
-- namespace (issue 21; docs/groups.md §7 and §10).

-- A group swarm (03) holds its members' messages in namespace 11, each
-- prefixed by its writer's key (the member key, or the group key for an
-- admin). Besides the owner-only bucket, every such message counts in its
-- writer's bucket, numbered from 131072 up (put.go computes the number
-- from the prefix: no namespace and not the owner-only bucket 65536), so
-- that one member's share is bounded and a flood leaves room for the
-- others. NULL for every other message, and for messages stored before
-- this version (they count in the owner-only bucket only).
ALTER TABLE messages ADD COLUMN writer_bucket INTEGER;

CREATE TRIGGER usage_writer_insert AFTER INSERT ON messages WHEN NEW.writer_bucket IS NOT NULL BEGIN
    INSERT INTO usage (account_id, bucket, messages, bytes)
    VALUES (NEW.account_id, NEW.writer_bucket, 1, NEW.size)
    ON CONFLICT (account_id, bucket) DO UPDATE SET messages = messages + 1, bytes = bytes + excluded.bytes;
END;

CREATE TRIGGER usage_writer_delete AFTER DELETE ON messages WHEN OLD.writer_bucket IS NOT NULL BEGIN
    UPDATE usage SET messages = messages - 1, bytes = bytes - OLD.size
    WHERE account_id = OLD.account_id AND bucket = OLD.writer_bucket;
    DELETE FROM usage
    WHERE account_id = OLD.account_id AND bucket = OLD.writer_bucket AND messages = 0;
END;
