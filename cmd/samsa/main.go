// Command samsa is the Samsa broker, metadata quorum member and command-line
// client in one binary. `samsa serve` runs a node; every other subcommand is
// a client (see `samsa help`).
package main

import (
	"os"

	"samsa/internal/cli"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "serve" {
		os.Exit(serve(os.Args[2:]))
	}
	os.Exit(cli.Main(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}
