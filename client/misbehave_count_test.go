//go:build !misbehavefull

package client

// misbehaveMessages is how many messages TestMisbehavingMember sends each
// way in the default suite; -tags misbehavefull sends the full 200.
const misbehaveMessages = 12
