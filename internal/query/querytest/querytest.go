// Package querytest lets a test binary serve as moat's query engine
// process, so tests of code that starts the engine need no moat binary.
package querytest

import (
	"context"
	"fmt"
	"os"

	"github.com/moatdev/moat/internal/query"
)

// ServeIfEngine runs the query engine on stdin and stdout and exits when
// the test binary was started with arg as its first argument, as the code
// under test starts the engine; otherwise it returns at once. Call it first
// in TestMain.
func ServeIfEngine(arg string) {
	if len(os.Args) < 2 || os.Args[1] != arg {
		return
	}
	if err := query.Serve(context.Background(), os.Stdin, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "query engine:", err)
		os.Exit(1)
	}
	os.Exit(0)
}
