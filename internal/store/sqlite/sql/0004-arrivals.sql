-- Version 4: messages in their order of arrival at this node (issue 23).

-- messages.id is the row ID, given in insertion order, and an index ends
-- with the row ID, so this serves Arrived's "arrived after a mark" as a
-- range: a client asks each node for what reached it late, behind its
-- cursor, without a scan of the account's messages.
CREATE INDEX messages_arrival ON messages (account_id, namespace);
