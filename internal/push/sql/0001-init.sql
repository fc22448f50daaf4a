-- The push server's whole state. Nothing here names an account, a swarm,
-- a node or an address: a subscription is a random ID with what it takes
-- to push to one device.
CREATE TABLE subscriptions (
    sub_id      BLOB PRIMARY KEY,      -- 32 random bytes chosen by the device
    secret_hash BLOB NOT NULL,         -- SHA-256 of the notify secret
    provider    TEXT NOT NULL,         -- webpush | apns | fcm
    endpoint    TEXT NOT NULL DEFAULT '', -- Web Push endpoint URL
    p256dh      TEXT NOT NULL DEFAULT '', -- Web Push subscriber key
    auth        TEXT NOT NULL DEFAULT '', -- Web Push auth secret
    token       TEXT NOT NULL DEFAULT '', -- APNs / FCM device token
    mgmt_key    BLOB NOT NULL,         -- Ed25519 key that signs renew/update/unsubscribe
    expiry_ms   INTEGER NOT NULL,
    last_ts_ms  INTEGER NOT NULL       -- newest management timestamp accepted (replay floor)
) WITHOUT ROWID;
CREATE INDEX subscriptions_expiry ON subscriptions(expiry_ms);

-- Tags of recent notifies, dropped after the dedupe window.
CREATE TABLE tags (
    tag     BLOB PRIMARY KEY,
    seen_ms INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX tags_seen ON tags(seen_ms);

-- The server's own keys (the VAPID key).
CREATE TABLE server_keys (
    name  TEXT PRIMARY KEY,
    value BLOB NOT NULL
) WITHOUT ROWID;
