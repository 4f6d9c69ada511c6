package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/moatdev/moat/internal/authz"
	"github.com/moatdev/moat/internal/ids"
	"github.com/moatdev/moat/internal/store"
)

func newRunsCommand(g *globalFlags) *cobra.Command {
	cmd := groupCommand("runs", "List, inspect and cancel runs")

	var org string
	var limit int
	var asJSON bool
	list := &cobra.Command{
		Use:   "list",
		Short: "List recent runs, newest first",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return withApp(g, func(ctx context.Context, a *app) error {
				org := a.defaultOrg(org)
				if err := a.authorize(ctx, authz.ReadRuns, org); err != nil {
					return err
				}
				runs, err := a.store.ListRuns(ctx, store.RunFilter{Org: org, Limit: limit})
				if err != nil {
					return err
				}
				if asJSON {
					out := make([]runJSON, len(runs))
					for i, r := range runs {
						out[i] = toRunJSON(r)
					}
					return writeJSON(os.Stdout, out)
				}
				rows := make([][]string, len(runs))
				for i, r := range runs {
					rows[i] = []string{r.ID, r.Org, r.Job, string(r.State), r.Cause, fmt.Sprint(r.WallMillis), r.QueuedAt.Local().Format(time.DateTime)}
				}
				printTable(os.Stdout, []string{"RUN", "ORG", "JOB", "STATE", "CAUSE", "WALL_MS", "QUEUED"}, rows)
				return nil
			})(cmd.Context())
		},
	}
	list.Flags().StringVar(&org, "org", "", "only runs of this org")
	list.Flags().IntVar(&limit, "limit", 50, "maximum number of runs")
	list.Flags().BoolVar(&asJSON, "json", false, "print JSON")

	var showJSON bool
	show := &cobra.Command{
		Use:   "show RUN",
		Short: "Show one run: cause, exit code, usage, counters",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return withRun(g, cmd, args[0], authz.ReadRuns, func(ctx context.Context, a *app, r store.Run) error {
				if showJSON {
					return writeJSON(os.Stdout, toRunJSON(r))
				}
				printSummary(os.Stdout, r)
				return nil
			})
		},
	}
	show.Flags().BoolVar(&showJSON, "json", false, "print JSON")

	logs := &cobra.Command{
		Use:   "logs RUN",
		Short: "Print a run's captured stdout and stderr",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return withRun(g, cmd, args[0], authz.ReadRuns, func(ctx context.Context, a *app, r store.Run) error {
				if r.LogPath == "" && r.State == store.RunFinished {
					return fmt.Errorf("run %s ended as %s before its sandbox started, so it has no log: 'moat runs show %s' gives the reason", r.ID, r.Cause, r.ID)
				}
				if r.LogPath == "" {
					return fmt.Errorf("run %s has no log yet (state %s)", r.ID, r.State)
				}
				f, err := os.Open(r.LogPath)
				if err != nil {
					return fmt.Errorf("open log of run %q: %w", r.ID, err)
				}
				defer f.Close()
				_, err = io.Copy(os.Stdout, f)
				return err
			})
		},
	}

	cancel := &cobra.Command{
		Use:   "cancel RUN",
		Short: "Cancel a queued or running run; the process running it kills the sandbox",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return withRun(g, cmd, args[0], authz.CancelRun, func(ctx context.Context, a *app, r store.Run) error {
				if err := a.store.RequestCancel(ctx, r.ID); err != nil {
					return err
				}
				_, err := a.audit.Record(ctx, store.Event{
					Type: "run.cancel_requested", Actor: a.actor, Org: r.Org, RunID: r.ID, Job: r.Job,
					Decision: "info", Reason: "cancel requested",
				})
				if err != nil {
					return err
				}
				fmt.Printf("cancel requested for run %s; it ends as cancelled within about a second\n", r.ID)
				return nil
			})
		},
	}

	cmd.AddCommand(list, show, logs, cancel)
	return cmd
}

// withRun validates a run id, opens the app, loads the run and checks that
// the acting principal may perform action on the run's org.
func withRun(g *globalFlags, cmd *cobra.Command, id string, action authz.Action, fn func(ctx context.Context, a *app, r store.Run) error) error {
	if err := ids.ValidateRun(id); err != nil {
		return err
	}
	return withApp(g, func(ctx context.Context, a *app) error {
		r, err := a.store.GetRun(ctx, id)
		if err != nil {
			// The store's error already names the run.
			return fmt.Errorf("%w (see 'moat runs list')", err)
		}
		if err := a.authorize(ctx, action, r.Org); err != nil {
			return err
		}
		return fn(ctx, a, r)
	})(cmd.Context())
}

// runJSON is the stable JSON shape of a run.
type runJSON struct {
	ID              string          `json:"id"`
	Org             string          `json:"org"`
	Job             string          `json:"job"`
	BundleDigest    string          `json:"bundle_digest"`
	Actor           string          `json:"actor"`
	State           string          `json:"state"`
	Cause           string          `json:"cause"`
	Reason          string          `json:"reason,omitempty"`
	ExitCode        *int            `json:"exit_code"`
	CPUSeconds      float64         `json:"cpu_seconds"`
	PeakMemoryBytes int64           `json:"peak_memory_bytes"`
	OOMKills        int64           `json:"oom_kills"`
	PidsHits        int64           `json:"pids_hits"`
	WallMillis      int64           `json:"wall_ms"`
	Queries         int64           `json:"queries"`
	RowsReturned    int64           `json:"rows_returned"`
	WebhookCalls    int64           `json:"webhook_calls"`
	LogBytes        int64           `json:"log_bytes"`
	LogTruncated    bool            `json:"log_truncated"`
	Limits          json.RawMessage `json:"limits,omitempty"`
	QueuedAt        time.Time       `json:"queued_at"`
	StartedAt       *time.Time      `json:"started_at"`
	FinishedAt      *time.Time      `json:"finished_at"`
}

func toRunJSON(r store.Run) runJSON {
	out := runJSON{
		ID: r.ID, Org: r.Org, Job: r.Job, BundleDigest: r.Digest, Actor: r.Actor,
		State: string(r.State), Cause: r.Cause, Reason: r.Reason, ExitCode: r.ExitCode,
		CPUSeconds: r.CPUSeconds, PeakMemoryBytes: r.PeakMemoryBytes, OOMKills: r.OOMKills,
		PidsHits: r.PidsHits, WallMillis: r.WallMillis, Queries: r.Queries,
		RowsReturned: r.RowsReturned, WebhookCalls: r.WebhookCalls, LogBytes: r.LogBytes,
		LogTruncated: r.LogTruncated, QueuedAt: r.QueuedAt, StartedAt: r.StartedAt, FinishedAt: r.FinishedAt,
	}
	if json.Valid(r.Limits) {
		out.Limits = r.Limits
	}
	return out
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
