//go:build !attachmerge

package cli

// attachmentsBuilt says whether this build can seal attachments: not
// before internal/attach is merged (client/attachcodec.go).
const attachmentsBuilt = false
