package cli

import (
	"context"
	"os"

	"github.com/spf13/cobra"

	"github.com/moatdev/moat/internal/demo"
)

func newDemoCommand(g *globalFlags) *cobra.Command {
	var receiverAddr string
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Run the end-to-end demo: an alert job on real Ethereum data, then a hostile job",
		Long: `Demo creates the orgs acme and globex, imports the public Ethereum datasets
from the shared data directory and a watchlist for each org, starts a
webhook receiver on loopback, runs examples/large-transfers for acme and
prints the alerts the receiver gets, then runs examples/hostile and shows
each of its attacks failing. It exits non-zero if any expected outcome is
missing.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return withApp(g, func(ctx context.Context, a *app) error {
				return demo.Run(ctx, demo.Options{
					Config: a.cfg, Store: a.store, Audit: a.audit, Log: a.log,
					Actor: a.actor, ReceiverAddr: receiverAddr, Out: os.Stdout,
				})
			})(cmd.Context())
		},
	}
	cmd.Flags().StringVar(&receiverAddr, "receiver-addr", "127.0.0.1:18099", "loopback host:port of the demo's webhook receiver")
	return cmd
}
