//go:build !attachmerge

package client

import (
	"github.com/hushnet/hush/internal/paths"
	"github.com/hushnet/hush/protocol/netfile"
)

// Until internal/attach (the stream format, images, the extended pointer)
// and internal/filesclient are merged, this build has neither: sending
// files returns errNoCodec, and a message with attachments waits unread
// (not dropped) until a build that can read it. attachmerge.go, built
// with the attachmerge tag, is the glue to both; at the merge it loses
// its tag and this file goes.

func newMediaCodec() mediaCodec { return nil }

func newNetworkFiles(*paths.Manager, netfile.Service) FileServer { return nil }
