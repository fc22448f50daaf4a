// Package callrtc runs one side of a hush call with pion's WebRTC: the
// media engine of the CLI (`hush call`), on the public client API only.
// The client library signals ([client.Client.StartCall] and the rest);
// this package turns those signals into a peer connection and back.
//
// Audio is G.711 µ-law (PCMU, 8 kHz), which every browser offers and which
// has a pure-Go codec (github.com/zaf/g711): there is no pure-Go Opus
// encoder. What is sent comes from a WAV file (16-bit mono 8 kHz) or is
// silence; what is received can be recorded to a WAV file.
//
// In relay-only mode ([client.CallsRelay], the default) the ICE transport
// policy is "relay": pion gathers relay candidates only, through the TURN
// servers of [client.Client.ICEServers], and the client library drops any
// other candidate both ways, so neither side learns the other's address.
package callrtc
