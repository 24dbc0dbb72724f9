// Command samsa is the Samsa command-line client. This minimal entry point
// dispatches every subcommand to internal/cli; the integrator adds `serve`.
package main

import (
	"os"

	"samsa/internal/cli"
)

func main() {
	os.Exit(cli.Main(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}
