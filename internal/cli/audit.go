package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/moatdev/moat/internal/authz"
	"github.com/moatdev/moat/internal/ids"
	"github.com/moatdev/moat/internal/store"
)

func newAuditCommand(g *globalFlags) *cobra.Command {
	cmd := groupCommand("audit", "Read the hash-chained audit log")

	var run, org string
	var limit int
	var asJSON bool
	list := &cobra.Command{
		Use:   "list",
		Short: "List audit events in order",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if run != "" {
				if err := ids.ValidateRun(run); err != nil {
					return err
				}
			}
			return withApp(g, func(ctx context.Context, a *app) error {
				org := a.defaultOrg(org)
				if run != "" {
					r, err := a.store.GetRun(ctx, run)
					if err != nil {
						return fmt.Errorf("%w (see 'moat runs list')", err)
					}
					org = r.Org
				}
				if err := a.authorize(ctx, authz.ReadAudit, org); err != nil {
					return err
				}
				events, err := a.store.ListAudit(ctx, store.AuditFilter{RunID: run, Org: org, Limit: limit})
				if err != nil {
					return err
				}
				if asJSON {
					return writeAuditJSON(os.Stdout, events)
				}
				printAudit(os.Stdout, events)
				return nil
			})(cmd.Context())
		},
	}
	list.Flags().StringVar(&run, "run", "", "only events of this run")
	list.Flags().StringVar(&org, "org", "", "only events of this org")
	list.Flags().IntVar(&limit, "limit", 0, "maximum number of events (0: all)")
	list.Flags().BoolVar(&asJSON, "json", false, "print one JSON object per line")

	cmd.AddCommand(list)
	return cmd
}

// auditJSON is the stable JSON shape of an audit event.
type auditJSON struct {
	Seq      int64          `json:"seq"`
	Time     time.Time      `json:"time"`
	Type     string         `json:"type"`
	Actor    string         `json:"actor"`
	Org      string         `json:"org,omitempty"`
	RunID    string         `json:"run_id,omitempty"`
	Job      string         `json:"job,omitempty"`
	Decision string         `json:"decision"`
	Reason   string         `json:"reason,omitempty"`
	Details  map[string]any `json:"details,omitempty"`
	PrevHash string         `json:"prev_hash"`
	Hash     string         `json:"hash"`
}

func writeAuditJSON(w io.Writer, events []store.Event) error {
	enc := json.NewEncoder(w)
	for _, e := range events {
		err := enc.Encode(auditJSON{
			Seq: e.Seq, Time: e.Time, Type: e.Type, Actor: e.Actor, Org: e.Org, RunID: e.RunID,
			Job: e.Job, Decision: e.Decision, Reason: e.Reason, Details: e.Details,
			PrevHash: e.PrevHash, Hash: e.Hash,
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// printAudit writes one line per event with its key details.
func printAudit(w io.Writer, events []store.Event) {
	for _, e := range events {
		fmt.Fprintf(w, "%5d  %s  %-18s %-5s %-8s %-20s %s\n", e.Seq, e.Time.Local().Format("15:04:05.000"),
			e.Type, e.Decision, e.Org, e.RunID, summarize(e))
	}
}

// summarize renders the reason and the most useful details of an event.
func summarize(e store.Event) string {
	var parts []string
	if e.Reason != "" {
		parts = append(parts, e.Reason)
	}
	keys := make([]string, 0, len(e.Details))
	for k := range e.Details {
		switch k {
		case "rows_returned", "datasets", "webhook", "cause", "exit_code", "wall_ms", "peak_memory_bytes",
			"cpu_seconds", "sql", "status", "bundle_digest", "runtime_version", "kernel", "spec_sha256", "host":
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		if e.Details[k] == nil {
			continue
		}
		v := fmt.Sprint(e.Details[k])
		if len(v) > 72 {
			v = v[:72] + "…"
		}
		parts = append(parts, k+"="+v)
	}
	return strings.Join(parts, " ")
}
