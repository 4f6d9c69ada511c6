package cli

import (
	"os"

	"github.com/spf13/cobra"

	"github.com/moatdev/moat/internal/embedded"
	"github.com/moatdev/moat/internal/query"
)

// newQueryEngineCommand is the hidden command the gateway starts as a
// per-run query engine process. It speaks the engine protocol on stdin and
// stdout and is not meant to be run by hand.
func newQueryEngineCommand() *cobra.Command {
	return &cobra.Command{
		Use:    embedded.QueryEngineCommand,
		Hidden: true,
		Args:   cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return query.Serve(cmd.Context(), os.Stdin, os.Stdout)
		},
	}
}
