// Package cli implements the moat command line. Commands parse flags, open
// the application (configuration, store, audit) and call the packages that
// do the work; no policy lives here.
package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/moatdev/moat/internal/config"
	"github.com/moatdev/moat/internal/sandbox"
)

// globalFlags are the flags every command accepts.
type globalFlags struct {
	dataDir  string
	as       string
	logLevel string
}

// exitError carries a specific exit status out of a command.
type exitError struct {
	code int
}

func (e *exitError) Error() string { return fmt.Sprintf("exit status %d", e.code) }

// Main runs the CLI with args and returns the process exit status.
func Main(args []string) int {
	ctx, cancel := context.WithCancelCause(context.Background())
	defer cancel(nil)

	// Ctrl-C or SIGTERM cancels the current run; the worker kills the whole
	// sandbox and records the run as cancelled.
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sigs)
	go func() {
		if sig, ok := <-sigs; ok {
			fmt.Fprintf(os.Stderr, "moat: received %s, cancelling\n", sig)
			cancel(fmt.Errorf("%w by %s to the moat process", sandbox.ErrCancelled, sig))
		}
	}()

	root := newRootCommand()
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return 0
	}

	var ee *exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	fmt.Fprintln(os.Stderr, "moat:", err)
	return 1
}

func newRootCommand() *cobra.Command {
	g := &globalFlags{}
	root := &cobra.Command{
		Use:           "moat",
		Short:         "Run untrusted jobs in sandboxes with audited, scoped access to data",
		SilenceUsage:  true,
		SilenceErrors: true,
	}

	defaultDir := os.Getenv("MOAT_DATA_DIR")
	if defaultDir == "" {
		defaultDir = config.DefaultDataDir
	}
	root.PersistentFlags().StringVar(&g.dataDir, "data-dir", defaultDir, "data directory for the store, datasets, bundles and run logs (env MOAT_DATA_DIR)")
	root.PersistentFlags().StringVar(&g.as, "as", "", "principal to act as (default: 'principal' in config.yaml, else admin)")
	root.PersistentFlags().StringVar(&g.logLevel, "log-level", "error", "level of log lines on stderr: debug, info, warn or error (the data directory's moat.log always gets info)")

	root.AddCommand(
		newRunCommand(g),
		newRunsCommand(g),
		newAuditCommand(g),
		newDatasetCommand(g),
		newOrgCommand(g),
		newPrincipalCommand(g),
		newWebhookCommand(g),
		newDoctorCommand(g),
		newDemoCommand(g),
		newSelftestCommand(g),
		newQueryEngineCommand(),
	)
	return root
}

// groupCommand returns a command that only holds subcommands. Run without
// one it prints its help; run with an unknown one it fails, where cobra
// would print the help and exit 0.
func groupCommand(use, short string) *cobra.Command {
	return &cobra.Command{
		Use:   use,
		Short: short,
		Args:  cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				return fmt.Errorf("unknown command %q for 'moat %s': see 'moat %s --help'", args[0], use, use)
			}
			return cmd.Help()
		},
	}
}
