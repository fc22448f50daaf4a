package replication_test

import (
	"bytes"
	"crypto/sha256"
	"io"
	"log/slog"
	"os"
	"strconv"
)

func sha256sum(b []byte) [32]byte    { return sha256.Sum256(b) }
func bytesReader(b []byte) io.Reader { return bytes.NewReader(b) }
func itoa(v int64) string            { return strconv.FormatInt(v, 10) }

func testLogger(n *testNode) *slog.Logger {
	if os.Getenv("REPL_DEBUG") == "" {
		return slog.New(slog.DiscardHandler)
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug})).With("node", n.addr)
}
