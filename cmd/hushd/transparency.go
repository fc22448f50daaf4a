package main

import (
	"encoding/json"
	"fmt"
	"io"

	"github.com/hushnet/hush/protocol/transparency"
)

// printReport prints a server's transparency report in the shared format
// (protocol/transparency), for people or as JSON.
func printReport(w io.Writer, rep *transparency.Report, asJSON bool) error {
	if err := rep.Validate(); err != nil {
		return err
	}
	if asJSON {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	_, err := fmt.Fprint(w, rep.Text())
	return err
}
