//go:build !fastfull

package client

// fastChurnMessages is how many messages TestFastReceiveChurn sends each
// way in the default suite (under -race the full count takes over five
// minutes on a loaded machine); -tags fastfull sends the full 100.
const fastChurnMessages = 20
