package demo

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"

	"github.com/moatdev/moat/internal/audit"
	"github.com/moatdev/moat/internal/embedded"
	"github.com/moatdev/moat/internal/store"
	"github.com/moatdev/moat/internal/worker"
)

var txHash = regexp.MustCompile(`^0x[0-9a-f]{64}$`)

// runAlertJob runs the large-transfers example and checks that real alerts
// reached the receiver.
func runAlertJob(ctx context.Context, runner *embedded.Runner, opts Options, b exampleBundles, rcv *receiver, p *printer) (store.Run, error) {
	p.step("running examples/large-transfers for org %s as %s (sandbox: %s)", orgAcme, userAlice, runner.RuntimeName())
	before := len(rcv.Deliveries())

	run, err := runner.Run(ctx, b.largeTransfers, orgAcme, userAlice, p.jobOutput())
	if err != nil {
		return run, err
	}
	p.summary(run)

	delivered := rcv.Deliveries()[before:]
	hashes := alertHashes(delivered)
	p.step("the receiver got %d webhook calls naming %d distinct mainnet transactions", len(delivered), len(hashes))
	for _, h := range hashes {
		p.line("  https://etherscan.io/tx/%s", h)
	}
	p.audit(ctx, opts.Store, run.ID)

	if run.Cause != worker.CauseSucceeded {
		return run, fmt.Errorf("alert run %s ended as %s: %s (see 'moat runs logs %s')", run.ID, run.Cause, run.Reason, run.ID)
	}
	if len(hashes) == 0 {
		return run, fmt.Errorf("alert run %s succeeded but the receiver got no alert with a transaction hash", run.ID)
	}
	return run, nil
}

// runHostileJob runs the hostile example and checks that every attack was
// blocked and audited.
func runHostileJob(ctx context.Context, runner *embedded.Runner, opts Options, b exampleBundles, rcv *receiver, p *printer) (store.Run, error) {
	p.step("running examples/hostile for org %s: it attacks the host network, the root filesystem and org %s's data", orgAcme, orgGlobex)
	before := len(rcv.Deliveries())

	run, err := runner.Run(ctx, b.hostile, orgAcme, userAlice, p.jobOutput())
	if err != nil {
		return run, err
	}
	p.summary(run)

	events, err := opts.Store.ListAudit(ctx, store.AuditFilter{RunID: run.ID})
	if err != nil {
		return run, err
	}
	denied := 0
	for _, e := range events {
		if e.Decision == audit.Deny {
			denied++
		}
	}
	p.audit(ctx, opts.Store, run.ID)

	// The hostile job exits 0 only when every attempt was blocked.
	if run.Cause != worker.CauseSucceeded {
		return run, fmt.Errorf("hostile run %s ended as %s: an attack may have succeeded (see 'moat runs logs %s')", run.ID, run.Cause, run.ID)
	}
	if denied < 4 {
		return run, fmt.Errorf("hostile run %s: expected at least 4 denials in the audit log, found %d", run.ID, denied)
	}
	if n := len(rcv.Deliveries()) - before; n != 0 {
		return run, fmt.Errorf("hostile run %s: the receiver got %d calls, expected none", run.ID, n)
	}
	p.step("all attacks blocked; %d denials recorded in the audit log of run %s", denied, run.ID)
	return run, nil
}

// alertHashes extracts the distinct transaction hashes from alert
// payloads, in the order they arrived.
func alertHashes(ds []Delivery) []string {
	var out []string
	seen := map[string]bool{}
	add := func(h string) {
		if txHash.MatchString(h) && !seen[h] {
			seen[h] = true
			out = append(out, h)
		}
	}
	for _, d := range ds {
		var body map[string]any
		if json.Unmarshal(d.Body, &body) != nil {
			continue
		}
		if h, ok := body["tx_hash"].(string); ok {
			add(h)
		}
		addrs, _ := body["addresses"].([]any)
		for _, a := range addrs {
			m, _ := a.(map[string]any)
			if h, ok := m["largest_tx_hash"].(string); ok {
				add(h)
			}
		}
	}
	return out
}
