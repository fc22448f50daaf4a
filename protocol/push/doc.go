// Package push defines the wire formats of push mode (DESIGN.md §7): the
// subscription record a device keeps in its own swarm, the tag and sealed
// payload a swarm node sends to wake it, and the requests and answers of
// the push server (hushd push), which a client and a node reach only as an
// onion destination at [Target].
//
// # Who sees what
//
// A subscription is random: its ID, its notify secret, its payload key and
// its management key are made for one device and one watched swarm, and
// never reused. The push server learns the subscription ID, the hash of the
// notify secret, the provider's token or endpoint and the management public
// key ([Request] with op "register"); never an Account ID. The device's
// swarm learns the rest ([Record], stored in owner-only namespace
// [Namespace], signed by the account's key so that a node can tell a
// record from the account holder from one planted by anyone else). A
// notifying node proves it may wake the device with the notify secret and
// sends only a [Tag] (equal at every member for one message, so the server
// sends one push per message) and a payload sealed with the subscription's
// payload key ([SealPayload]) that only the device opens ([OpenPayload]):
// the push server and the provider see a fixed-size opaque wake-up.
//
// # Strictness
//
// Every parser here accepts exactly one encoding: what [ParseRecord] and
// [ParseRequest] accept is byte for byte what [Record.Marshal] and
// [Request.Marshal] write, so a signature covers the one way a value can be
// written and no two parsers can read one document differently.
//
// The package does no I/O and reads no clock: functions that need the time
// take it. Randomness (payload nonces) comes from crypto/rand.
package push
