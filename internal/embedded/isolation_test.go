package embedded_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/moatdev/moat/internal/authz"
	"github.com/moatdev/moat/internal/bundle"
	"github.com/moatdev/moat/internal/dataset"
	"github.com/moatdev/moat/internal/manifest"
	"github.com/moatdev/moat/internal/store"
	"github.com/moatdev/moat/internal/worker"
)

const watchlistSchema = "address VARCHAR, label VARCHAR"

func TestCrossOrgSQLReadRejected(t *testing.T) {
	h := newHarness(t, nil)
	h.importCSV("acme", "watchlist", watchlistSchema, "address,label\n0xaaa,acme-own\n")
	h.importCSV("globex", "watchlist", watchlistSchema, "address,label\n0xbbb,globex-secret\n")
	globexFile := filepath.Join(h.dataDir, dataset.OrgPath("globex", "watchlist"), "data.parquet")
	if _, err := os.Stat(globexFile); err != nil {
		t.Fatalf("globex watchlist file: %v", err)
	}

	dir := h.bundle(map[string]string{
		"moat.yaml": fmt.Sprintf(pyManifest, "snoop", "watchlist", "", "128Mi"),
		"main.py": fmt.Sprintf(`
import moat_job
print("OWN", moat_job.query("select label from watchlist"))
for sql in [
    "select * from globex.watchlist",
    "select * from read_parquet('%s')",
    "select * from read_parquet('%s/**/*.parquet')",
    "select * from read_csv('/etc/passwd')",
    "attach '%s' as other",
]:
    try:
        print("LEAK", moat_job.query(sql))
    except moat_job.GatewayError as e:
        print("REJECTED", e.code)
`, globexFile, h.dataDir, globexFile),
	})

	run, out := h.run(context.Background(), dir, "acme")

	if run.Cause != worker.CauseSucceeded {
		t.Fatalf("cause = %q, want succeeded (reason %q, output %q)", run.Cause, run.Reason, out)
	}
	if !strings.Contains(out, "OWN [{'label': 'acme-own'}]") {
		t.Errorf("the job did not see exactly its own org's watchlist:\n%s", out)
	}
	if strings.Contains(out, "LEAK") || strings.Contains(out, "globex-secret") {
		t.Fatalf("a query read data it must not see:\n%s", out)
	}
	if n := strings.Count(out, "REJECTED"); n != 5 {
		t.Errorf("%d of 5 hostile queries were rejected:\n%s", n, out)
	}
	if !strings.Contains(out, "REJECTED access_denied") {
		t.Errorf("no rejection carried reason access_denied:\n%s", out)
	}

	denied := 0
	for _, e := range h.events(run.ID) {
		if e.Type == "query.rejected" {
			denied++
		}
	}
	if denied != 5 {
		t.Errorf("audit has %d query.rejected events, want 5", denied)
	}
}

func TestRunRejectedForOtherOrgsDataset(t *testing.T) {
	h := newHarness(t, nil)
	h.importCSV("globex", "secrets", watchlistSchema, "address,label\n0xbbb,globex-secret\n")
	dir := h.bundle(map[string]string{
		"moat.yaml": fmt.Sprintf(pyManifest, "declares-foreign", "secrets", "", "64Mi"),
		"main.py":   "print('must not run')\n",
	})

	run, out := h.run(context.Background(), dir, "acme")

	if run.Cause != worker.CauseRejected {
		t.Fatalf("cause = %q, want rejected", run.Cause)
	}
	if !strings.Contains(run.Reason, `input dataset "secrets" does not exist for org "acme"`) {
		t.Errorf("reason = %q, want it to name the dataset and the org", run.Reason)
	}
	if strings.Contains(out, "must not run") {
		t.Error("the job ran although the run was rejected")
	}
	if !strings.Contains(eventTypes(h.events(run.ID)), "run.rejected") {
		t.Error("no run.rejected audit event")
	}
}

func TestBundleErrorsAreRejected(t *testing.T) {
	h := newHarness(t, nil)
	valid := fmt.Sprintf(shManifest, "ok", "10s")

	cases := []struct {
		name  string
		setup func(dir string)
		want  error
		text  string
	}{
		{
			name: "symlink out of the bundle",
			setup: func(dir string) {
				if err := os.Symlink("/etc/passwd", filepath.Join(dir, "passwd")); err != nil {
					t.Fatal(err)
				}
			},
			want: bundle.ErrInvalid, text: "symbolic link",
		},
		{
			name: "oversize file",
			setup: func(dir string) {
				big := make([]byte, bundle.DefaultLimits().MaxFileBytes+1)
				if err := os.WriteFile(filepath.Join(dir, "big.bin"), big, 0o644); err != nil {
					t.Fatal(err)
				}
			},
			want: bundle.ErrTooLarge, text: "big.bin",
		},
		{
			name: "unknown manifest field",
			setup: func(dir string) {
				if err := os.WriteFile(filepath.Join(dir, "moat.yaml"), []byte(valid+"network: host\n"), 0o644); err != nil {
					t.Fatal(err)
				}
			},
			want: manifest.ErrInvalid, text: "network",
		},
		{
			name: "memory above the platform maximum",
			setup: func(dir string) {
				m := strings.Replace(valid, "memory: 64Mi", "memory: 64Gi", 1)
				if err := os.WriteFile(filepath.Join(dir, "moat.yaml"), []byte(m), 0o644); err != nil {
					t.Fatal(err)
				}
			},
			want: manifest.ErrInvalid, text: "resources.memory",
		},
	}

	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := h.bundle(map[string]string{"moat.yaml": valid, "run.sh": "#!/bin/sh\nexit 0\n"})
			tc.setup(dir)

			_, err := h.runner.Run(context.Background(), dir, "acme", "admin", nil)

			if !errors.Is(err, tc.want) {
				t.Fatalf("error = %v, want %v", err, tc.want)
			}
			if !strings.Contains(err.Error(), tc.text) {
				t.Errorf("error %q does not mention %q", err, tc.text)
			}
		})
	}

	events, err := h.store.ListAudit(context.Background(), store.AuditFilter{})
	if err != nil {
		t.Fatal(err)
	}
	rejected := 0
	for _, e := range events {
		if e.Type == "bundle.rejected" && e.Decision == "deny" {
			rejected++
		}
	}
	if rejected != len(cases) {
		t.Errorf("audit has %d bundle.rejected events, want %d", rejected, len(cases))
	}
}

func TestBigWeiValuesRoundTripExactly(t *testing.T) {
	h := newHarness(t, nil)
	// 38 digits fit DECIMAL(38,0); the 78-digit uint256 maximum does not
	// and is stored as VARCHAR.
	const wei38 = "12345678901234567890123456789012345678"
	const uint256Max = "115792089237316195423570985008687907853269984665640564039457584007913129639935"
	h.importCSV("acme", "amounts", "id BIGINT, wei DECIMAL(38,0), raw VARCHAR",
		"id,wei,raw\n1,"+wei38+","+uint256Max+"\n2,1,1\n")

	dir := h.bundle(map[string]string{
		"moat.yaml": fmt.Sprintf(pyManifest, "bigwei", "amounts", "", "128Mi"),
		"main.py": `
import moat_job
row = moat_job.query("select wei, raw, wei + 1 as wei_plus_one from amounts where id = 1")[0]
print("WEI", int(row["wei"]))
print("RAW", row["raw"])
print("PLUS", int(row["wei_plus_one"]))
`,
	})

	run, out := h.run(context.Background(), dir, "acme")

	if run.Cause != worker.CauseSucceeded {
		t.Fatalf("cause = %q, want succeeded (reason %q, output %q)", run.Cause, run.Reason, out)
	}
	for _, want := range []string{"WEI " + wei38, "RAW " + uint256Max} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if !strings.Contains(out, "PLUS 12345678901234567890123456789012345679") {
		t.Errorf("arithmetic on DECIMAL(38,0) lost precision:\n%s", out)
	}
}

func TestRunForAnotherOrgIsDenied(t *testing.T) {
	h := newHarness(t, nil)
	ctx := context.Background()
	alice := store.Principal{Name: "alice", Role: store.RoleDeveloper, Org: "acme"}
	if err := h.store.EnsurePrincipal(ctx, "admin", alice); err != nil {
		t.Fatal(err)
	}
	dir := h.bundle(map[string]string{
		"moat.yaml": fmt.Sprintf(shManifest, "cross-org", "10s"),
		"run.sh":    "#!/bin/sh\necho must not run\n",
	})

	_, err := h.runner.Run(ctx, dir, "globex", "alice", nil)

	if !errors.Is(err, authz.ErrDenied) {
		t.Fatalf("error = %v, want authz.ErrDenied", err)
	}
	if !strings.Contains(err.Error(), `"alice"`) || !strings.Contains(err.Error(), `org "globex"`) {
		t.Errorf("error %q does not name the principal and the org", err)
	}
	runs, err := h.store.ListRuns(ctx, store.RunFilter{Org: "globex"})
	if err != nil {
		t.Fatal(err)
	}
	if len(runs) != 0 {
		t.Errorf("a denied request created %d runs for globex", len(runs))
	}
	events, err := h.store.ListAudit(ctx, store.AuditFilter{Org: "globex"})
	if err != nil {
		t.Fatal(err)
	}
	if len(events) != 1 || events[0].Type != "authz.denied" || events[0].Reason != authz.ReasonWrongOrg || events[0].Actor != "alice" {
		t.Errorf("audit events for globex = %+v, want one authz.denied by alice with reason wrong_org", events)
	}
}
