// Package onion is hush's onion request format: the frames a client builds
// to reach a storage node or a steward server through a path of relays, the
// per-layer cryptography, and the responses that travel back. It does no I/O
// and reads no clock; internal/relay moves the bytes.
//
// The semantics follow Session's onion requests (session-storage-server
// oxenss/rpc/onion_processing.cpp and oxenss/crypto/channel_encryption.cpp);
// the differences are listed at the end.
//
// # Frame
//
// Every request on the wire (POST /onion_req/v2), every decrypted layer and
// every decrypted response is a frame:
//
//	[uint32 little-endian N][N bytes blob][UTF-8 JSON object][ASCII spaces]
//
// The JSON object starts right after the blob, is one object with no
// duplicate keys, and is followed only by spaces (JSON whitespace; see
// Padding). A request frame's object is
//
//	{"ephemeral_key": <64 lowercase hex>, "hop": <0–14>, "v": 1}
//
// and nothing else. "v" is read first: any value but 1 is [ErrUnknownVersion].
// "hop" is the receiving node's position: the client sends 0 and each relay
// writes its own plus one into the frame it forwards ([Layer.Hop]). A node
// refuses hop 15 or more ([ErrTooManyLayers]), so a hand-built onion of
// thousands of 200-byte layers cannot make the network carry its 2 MiB
// thousands of times; the client cannot lower the count, only raise it.
// This is Session's hop_no (session-storage-server oxenss/server/omq.cpp),
// moved from the transport into the frame. The counter and the padding
// spaces are the only bytes whose change no AEAD detects (the key and the
// version select the key schedule); both are set by relays.
//
// # Layer keys (version 1)
//
// For each layer the client makes a fresh X25519 key pair (e, E) and, with
// the hop's X25519 key N:
//
//	ss  = X25519(e, N)             all-zero (low-order N or E) is an error
//	prk = HKDF-Extract(SHA-256, salt = E ‖ N, ikm = ss)
//	Kreq  = HKDF-Expand(prk, "hush/1 onion layer v1", 32)
//	Kresp = HKDF-Expand(prk, "hush/1 onion layer v1 response", 32)
//	Kwrap = HKDF-Expand(prk, "hush/1 onion layer v1 response wrap", 32)
//
// The node computes ss = X25519(n, E). The blob of a request frame is
//
//	nonce(24, random) ‖ XChaCha20-Poly1305(Kreq, nonce, plaintext ‖ 0x80 ‖ 0x00*, ad = "")
//
// and the plaintext is itself a frame, [len][inner blob][control object].
// One AEAD, no menu: XChaCha20-Poly1305 has nonces large enough to pick at
// random and no timing pitfalls in software.
//
// Responses get their own keys rather than reusing Kreq: then a request
// ciphertext reflected back at the client can never open as a response,
// whatever the nonces, and the request and response directions are
// independent by construction rather than by an argument about nonces.
// An extra HKDF-Expand costs nothing next to the X25519.
//
// # Control objects
//
// The decrypted control object says what the node does; exactly one shape:
//
//	{"destination": <ed25519 hex>, "ephemeral_key": <hex>}    relay: send the inner
//	    blob, in a frame carrying that ephemeral key, to that node
//	{"headers": {<name>: <value>, ...}}                        destination: the inner
//	    blob is the request body (a storage RPC, or the server's request)
//	{"ephemeral_key", "host", "method", "port", "protocol", "target"}
//	    steward: send the inner blob, in a frame carrying that key, to the
//	    server; the node checks its allow-list, this package only the shapes
//
// They are parsed into an [Instruction]; unknown or missing keys, nulls,
// uppercase hex, out-of-range ports, unknown protocols or methods, and
// targets with a query, fragment or dot segment are [ErrBadInstruction].
// For a steward the payload is encrypted to the server's own X25519 key (one
// more layer), so the node that forwards it cannot read it.
//
// # Hold (fast mode)
//
// Relay and destination objects may carry one more key, "hold": a JSON
// integer of milliseconds from 1 to 30000 ([MaxHold]), sorted last like
// every key ({"destination", "ephemeral_key", "hold"} and {"headers",
// "hold"}). Zero is never written: no key is an ordinary request, so
// requests without a hold encode exactly as before. Null, negative,
// fractional or exponent numbers, strings, values above MaxHold and a hold
// on a steward object are [ErrBadInstruction] ([Instruction.Hold]).
//
// A hold asks the node to keep the request open that much longer than its
// ordinary per-hop time-out: the client's long-poll, a retrieve with a
// wait. [Build] writes the same hold into every layer, since each relay
// must wait as long as the hop after it. Each relay caps it at its own
// limit and answers a "timeout" failure when its capped deadline passes;
// the destination holds only a retrieve whose wait fits the hold.
//
// What it reveals: each hop learns that this request may stay open up to
// that long, which it would see anyway from the request's duration; it
// learns nothing about what the request is or whom it is for (the relays
// cannot read the body, and every held request asks a similar hold). The
// guard, which knows the client's address, sees when the answer comes back,
// and so when a message arrived for that client; polling reveals the same
// with coarser timing. Held and ordinary frames are the same size classes.
//
// # Responses
//
// The node that originates a response (the destination, or any node that
// fails) seals a response frame under its Kresp:
//
//	nonce(24) ‖ XChaCha20-Poly1305(Kresp, nonce, [len][body][{"status": s, "v": 1}] ‖ 0x80 ‖ 0x00*)
//
// Every node before it on the path then XORs it with XChaCha20(Kwrap, nonce =
// 0) ([Responder.Wrap]): a length-preserving stream, so the response keeps
// its size class at every hop, and so the guard never sees the bytes the
// destination sent. The fixed nonce is safe because a wrap key encrypts one
// response. Integrity is end to end: the client removes the streams and
// checks the originator's tag, which fails if any node changed any byte.
//
// Relay errors use the same envelope with an "error" member and no body:
//
//	{"error": "timeout", "status": 504, "v": 1}
//
// The codes ([ErrorCode]) and their statuses are fixed for version 1. There
// is no hop index in it: a node does not know its position, and a claimed
// index could not be trusted. The client tries each layer's Kresp, from the
// destination outwards, and the key that opens the response names the hop
// ([RelayError.Hop]); no node can forge a report for another. All responses
// look alike to the relays, failures included.
//
// # Padding
//
// Request frames and responses are exactly one of [SizeClasses] long at
// every hop. Layers nest, so an inner frame is always shorter than the one
// around it; no assignment of classes to layers can keep fifteen strictly
// shrinking frames on six fixed sizes. Instead:
//
//   - The client puts all padding inside the innermost layer's plaintext
//     (0x80 0x00…), sized so the outermost frame is exactly a class. No
//     relay learns the payload size beyond the class.
//   - A relay pads the frame it forwards with trailing spaces back to the
//     length of the frame it received ([Layer.NextFrame]). These bytes are
//     outside the AEAD, but they carry nothing: the relay knows them, and
//     the next node strips them before anything else. They stop a link
//     observer from pairing a node's input and output by their sizes.
//   - Responses are sealed padded to a class and wrapped without growth.
//
// Nodes refuse frames and wrap only responses whose length is a class.
//
// Residual leak: a node knows its distance from the client, from the hop
// counter and equally from the number of padding spaces. Session reveals
// the same through hop_no. It cannot learn how many layers remain below it,
// nor the payload size beyond the class. Hiding the position too needs
// Sphinx-style constant-size headers (katzenpost core/sphinx), a candidate
// for version 2.
//
// # Sessions
//
// A client may open a session at the guard and the middle relay (hop
// counters 0 and 1, [MaxSessionHop]) with a full request whose relay
// objects carry "new_session", and send later requests there as session
// frames,
//
//	[uint32 LE N][N bytes blob][{"counter": C, "hop": H, "session": <32 hex>, "v": 1}][spaces]
//
// keyed per request from the session key and the counter, without
// public-key work ([BuildSessions], [FrameSession], [PeelSession]). The
// last relay and the destination always get full frames with a fresh
// ephemeral key, so they see no value two requests share. A node that
// does not hold a session answers with a signed [SessionUnknown]. The
// frames, key schedule, replay window, lifetime and what each hop learns
// are specified in docs/onion.md; vectors are in testdata/sessions.json.
//
// # Differences from Session
//
//   - One AEAD and one key schedule (HKDF-SHA256 over both public keys under
//     a hush label), no enc_type menu, and a version in every frame.
//   - Relays re-encrypt responses instead of passing them back unchanged.
//   - Relay failures come back authenticated, as typed codes, attributable
//     to a hop; Session's are plaintext HTTP statuses any hop could forge.
//   - Padding to size classes; strict JSON; no defaults for missing fields.
//   - The hop counter travels in the frame, checked by every node.
//   - The steward instruction carries the server's ephemeral key and the
//     inner blob is a normal frame, not the whole decrypted layer re-parsed
//     by the server.
package onion
