package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/moatdev/moat/internal/authz"
	"github.com/moatdev/moat/internal/bundle"
	"github.com/moatdev/moat/internal/embedded"
	"github.com/moatdev/moat/internal/ids"
	"github.com/moatdev/moat/internal/manifest"
	"github.com/moatdev/moat/internal/store"
	"github.com/moatdev/moat/internal/worker"
)

func newRunCommand(g *globalFlags) *cobra.Command {
	var org, runtime string
	var quiet bool
	cmd := &cobra.Command{
		Use:   "run BUNDLE --org ORG",
		Short: "Run a job bundle once in a sandbox, streaming its log",
		Long: `Run validates the bundle directory (moat.yaml and its files), installs an
immutable copy, runs it in a fresh sandbox for ORG and prints a summary.

The exit status follows the terminal cause: 0 succeeded; the job's own code
(1-99) or 1 when it failed; 100 rejected; 101 timeout; 102 oom;
103 pids_exhausted; 104 cancelled; 105 killed_by_policy; 106 worker_lost;
110 infrastructure_error.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := ids.ValidateName("org", org); err != nil {
				return err
			}
			return withApp(g, func(ctx context.Context, a *app) error {
				live := io.Writer(os.Stdout)
				if quiet {
					live = nil
				}
				run, err := runOnce(ctx, a, args[0], org, runtime, live)
				if isRejection(err) {
					// A bundle or request rejected before any run started
					// exits like a rejected run, so scripts can tell it from
					// a job that failed.
					fmt.Fprintln(os.Stderr, "moat:", err)
					return &exitError{code: worker.ExitCode(worker.CauseRejected, nil)}
				}
				if err != nil {
					return err
				}
				printSummary(os.Stdout, run)
				if code := worker.ExitCode(run.Cause, run.ExitCode); code != 0 {
					return &exitError{code: code}
				}
				return nil
			})(cmd.Context())
		},
	}
	cmd.Flags().StringVar(&org, "org", "", "org the run belongs to (required)")
	cmd.Flags().BoolVar(&quiet, "quiet", false, "do not stream the job's log")
	cmd.Flags().StringVar(&runtime, "runtime", "runc", "sandbox backend: runc or runsc (gVisor)")
	_ = cmd.MarkFlagRequired("org")
	return cmd
}

// runOnce executes one bundle in embedded mode.
func runOnce(ctx context.Context, a *app, dir, org, runtime string, live io.Writer) (store.Run, error) {
	runner, err := embedded.New(embedded.Options{Config: a.cfg, Store: a.store, Audit: a.audit, Log: a.log, Runtime: runtime})
	if err != nil {
		return store.Run{}, err
	}
	return runner.Run(ctx, dir, org, a.actor, live)
}

// isRejection reports whether err rejects a run before it exists: an
// invalid bundle or manifest, or a denied permission.
func isRejection(err error) bool {
	return errors.Is(err, bundle.ErrInvalid) || errors.Is(err, manifest.ErrInvalid) || errors.Is(err, authz.ErrDenied)
}

// printSummary writes the human summary of a finished run.
func printSummary(w io.Writer, r store.Run) {
	exit := "-"
	if r.ExitCode != nil {
		exit = fmt.Sprint(*r.ExitCode)
	}
	fmt.Fprintf(w, "\nrun %s  org %s  job %s\n", r.ID, r.Org, r.Job)
	fmt.Fprintf(w, "  cause        %s\n", r.Cause)
	if r.Reason != "" && r.Cause != worker.CauseSucceeded {
		fmt.Fprintf(w, "  reason       %s\n", r.Reason)
	}
	fmt.Fprintf(w, "  exit code    %s\n", exit)
	fmt.Fprintf(w, "  wall         %d ms\n", r.WallMillis)
	fmt.Fprintf(w, "  cpu          %.3f s\n", r.CPUSeconds)
	fmt.Fprintf(w, "  peak memory  %.1f MiB\n", float64(r.PeakMemoryBytes)/(1<<20))
	fmt.Fprintf(w, "  queries      %d (%d rows returned)\n", r.Queries, r.RowsReturned)
	fmt.Fprintf(w, "  webhooks     %d\n", r.WebhookCalls)
	if r.OOMKills > 0 || r.PidsHits > 0 {
		fmt.Fprintf(w, "  oom kills    %d, pids-limit hits %d\n", r.OOMKills, r.PidsHits)
	}
	if r.LogTruncated {
		fmt.Fprintf(w, "  log          truncated at %d bytes\n", r.LogBytes)
	}
	fmt.Fprintf(w, "  bundle       %s\n", r.Digest)
}
