// Command hush is the hush messenger client. Everything it does lives in
// internal/cli; this main only hands over the process's streams.
package main

import (
	"os"

	"github.com/hushnet/hush/internal/cli"
)

func main() {
	os.Exit(cli.Main(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}
