package demo

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"

	"github.com/moatdev/moat/internal/store"
)

// printer writes the demo's narrative. Job output and receiver deliveries
// arrive from other goroutines, so every write takes the lock.
type printer struct {
	mu sync.Mutex
	w  io.Writer
}

func (p *printer) step(format string, args ...any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	fmt.Fprintf(p.w, "\n==> "+format+"\n", args...)
}

func (p *printer) line(format string, args ...any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	fmt.Fprintf(p.w, format+"\n", args...)
}

// delivery prints one webhook call as the receiver gets it.
func (p *printer) delivery(d Delivery) {
	var body map[string]any
	_ = json.Unmarshal(d.Body, &body)

	text := string(d.Body)
	switch body["kind"] {
	case "large_transfer":
		text = fmt.Sprintf("large transfer %s ETH  tx %v", body["value_eth"], body["tx_hash"])
	case "watchlist_summary":
		text = fmt.Sprintf("watchlist: %v transfers touch watchlisted addresses", body["transfers"])
	}
	p.line("  [receiver %s] %s", d.Path, text)
}

// jobOutput returns a writer that prefixes each line of the job's output.
func (p *printer) jobOutput() io.Writer { return &prefixWriter{p: p, prefix: "  │ "} }

type prefixWriter struct {
	p       *printer
	prefix  string
	pending []byte
}

func (w *prefixWriter) Write(b []byte) (int, error) {
	w.pending = append(w.pending, b...)
	for {
		i := bytes.IndexByte(w.pending, '\n')
		if i < 0 {
			break
		}
		w.p.line("%s%s", w.prefix, w.pending[:i])
		w.pending = w.pending[i+1:]
	}
	return len(b), nil
}

// summary prints the run's terminal state and usage.
func (p *printer) summary(r store.Run) {
	exit := "-"
	if r.ExitCode != nil {
		exit = fmt.Sprint(*r.ExitCode)
	}
	p.line("  run %s: cause=%s exit=%s wall=%dms cpu=%.2fs peak_mem=%.1fMiB queries=%d rows_returned=%d webhooks=%d",
		r.ID, r.Cause, exit, r.WallMillis, r.CPUSeconds, float64(r.PeakMemoryBytes)/(1<<20),
		r.Queries, r.RowsReturned, r.WebhookCalls)
}

// audit prints the audit trail of one run.
func (p *printer) audit(ctx context.Context, st store.Store, runID string) {
	events, err := st.ListAudit(ctx, store.AuditFilter{RunID: runID})
	if err != nil {
		p.line("  (audit trail unavailable: %v)", err)
		return
	}
	p.line("  audit trail of %s (hash-chained):", runID)
	for _, e := range events {
		p.line("    #%-5d %-17s %-5s %s  prev=%.8s hash=%.8s", e.Seq, e.Type, e.Decision, eventSummary(e), e.PrevHash, e.Hash)
	}
}

// eventSummary picks the details worth a line in the demo.
func eventSummary(e store.Event) string {
	var parts []string
	if e.Reason != "" && e.Reason != "ok" {
		parts = append(parts, e.Reason)
	}
	keys := []string{}
	for k := range e.Details {
		switch k {
		case "rows_returned", "webhook", "cause", "wall_ms", "peak_memory_bytes", "runtime_version":
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s=%v", k, e.Details[k]))
	}
	s := strings.Join(parts, " ")
	if len(s) > 110 {
		s = s[:110] + "…"
	}
	return s
}
