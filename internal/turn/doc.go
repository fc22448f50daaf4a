// Package turn is hush's STUN/TURN server, `hushd turn` (DESIGN §9): it
// relays the media of calls so that neither party learns the other's IP
// address. It is built on pion/turn (RFC 8656): UDP relay allocations,
// which clients reach over UDP, TCP or TLS (WebRTC uses no RFC 6062 TCP
// allocations, and none are offered).
//
// # Credentials
//
// Clients authenticate with RFC 8489 long-term credentials in the TURN
// REST style (protocol/turn): username "expiry:random", password
// base64(HMAC-SHA1(secret, username)), where secret is the server's own
// (turn_secret.key in the data directory). The server keeps no table of
// issued credentials: a username's expiry and the HMAC are all it checks,
// so an expired or forged credential is refused (401) and nothing about
// an issued one is stored.
//
// Credentials are issued by the credential endpoint, an onion destination
// like the file server (internal/files): clients seal the request
// (protocol/turn) to the server's X25519 key, and the last relay of their
// path forwards it over TLS pinned to the server's Ed25519 key, so the
// endpoint never sees a client's address, and a credential names nobody.
// With a network file, only the nodes of its verified snapshots are
// served (403 before anything is read, as for the file server).
//
// # Limits
//
// Credentials are anonymous, so the limits are on what they buy:
//   - issuance: a token bucket per relaying node identity and one for all
//     together (rate_limited with retry_after_ms);
//   - allocations: at most max_allocations_per_credential at once per
//     username (486 Allocation Quota Reached, checked in pion's
//     QuotaHandler from counts its allocation events keep; UDP requests
//     on one socket are handled in order, so the count is exact there,
//     while allocations arriving at once over several TCP connections
//     could pass it by one each) and max_allocations in total (508
//     Insufficient Capacity, counted exactly by the relay address
//     generator, which opens every relayed socket);
//   - bandwidth: every relayed socket is wrapped so that each allocation
//     and the server as a whole relay at most their bytes per second;
//     datagrams beyond are dropped, as a congested link would.
//
// # Peers
//
// Relaying to loopback, private (RFC 1918, RFC 4193, CGNAT), link-local,
// multicast and unspecified addresses is refused (403 to
// CreatePermission and ChannelBind, and checked again on every datagram)
// unless allow_private_peers is set, which only a devnet on 127.0.0.1
// does: a TURN server that relays anywhere is a way into its steward's
// own network.
//
// # Privacy
//
// No Account ID ever reaches the server. It logs no client or peer
// address and no username: pion's own log lines pass through
// internal/logfilter and a filter for TURN usernames unless
// debug_log_private is set; metrics have no per-client label. What it
// holds is its key, its secret, the saved snapshot and, in memory only,
// the live allocations (which necessarily hold the two parties'
// addresses while a call lasts) and the issuance buckets;
// [Transparency] (`hushd turn transparency`) lists them all.
package turn
