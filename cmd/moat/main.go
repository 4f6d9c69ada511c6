// Command moat runs untrusted jobs in sandboxes; see the README.
package main

import (
	"os"

	"github.com/moatdev/moat/internal/cli"
)

func main() {
	os.Exit(cli.Main(os.Args[1:]))
}
