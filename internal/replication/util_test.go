package replication_test

import (
	"bytes"
	"crypto/sha256"
	"io"
	"strconv"
)

func sha256sum(b []byte) [32]byte    { return sha256.Sum256(b) }
func bytesReader(b []byte) io.Reader { return bytes.NewReader(b) }
func itoa(v int64) string            { return strconv.FormatInt(v, 10) }
