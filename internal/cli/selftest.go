package cli

import (
	"context"
	"fmt"
	"log/slog"
	"os"

	"github.com/spf13/cobra"

	"github.com/moatdev/moat/internal/config"
	"github.com/moatdev/moat/internal/selftest"
)

func newSelftestCommand(g *globalFlags) *cobra.Command {
	var runtime string
	var only []string
	cmd := &cobra.Command{
		Use:   "selftest",
		Short: "Run the attack suite against a sandbox backend and report each outcome",
		Long: `Selftest runs moat's attack suite: hostile jobs (fork and memory bombs, CPU
spinners, filled /tmp and /dev/shm, mounts, user namespaces, ptrace, keyctl,
bpf, io_uring, raw sockets, /proc and /sys probes, setuid binaries,
network escapes, output floods, timeout escapes, environment dumps and
gateway abuse) through the whole stack, and checks each one's exact outcome
and audit record.

It works on a temporary data directory and a temporary directory inside
the configured state_dir, and removes both at the end: the data directory's
store, datasets and runs are not touched; only its config.yaml is read (for
runc and state_dir). It prints one line per attack and exits 1 if any
attack did not end as expected.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runSelftest(cmd.Context(), g, runtime, only)
		},
	}
	cmd.Flags().StringVar(&runtime, "runtime", "runc", "sandbox backend to test: runc or runsc (gVisor)")
	cmd.Flags().StringSliceVar(&only, "only", nil, "run only these attacks (comma-separated names, as printed)")
	return cmd
}

func runSelftest(ctx context.Context, g *globalFlags, runtime string, only []string) error {
	// Load reads config.yaml if there is one and creates nothing.
	cfg, err := config.Load(g.dataDir)
	if err != nil {
		return err
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(g.logLevel)); err != nil {
		return fmt.Errorf("invalid --log-level %q: use debug, info, warn or error", g.logLevel)
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	// Packages that log through slog.Default (bundle install, dataset
	// import) follow the same level.
	slog.SetDefault(logger)

	for _, line := range selftest.Differences(runtime) {
		fmt.Fprintf(os.Stdout, "differs from runc by design: %s\n", line)
	}

	report, err := selftest.Run(ctx, selftest.Options{
		Runtime:  runtime,
		RuncPath: cfg.RuncPath,
		StateDir: cfg.StateDir,
		Log:      logger,
		Only:     only,
		Progress: func(res selftest.Result) { res.WriteLine(os.Stdout) },
	})
	if err != nil {
		return fmt.Errorf("selftest on %s: %w", runtime, err)
	}

	report.WriteSummary(os.Stdout)
	if len(report.Failed()) > 0 {
		return &exitError{code: 1}
	}
	return nil
}
