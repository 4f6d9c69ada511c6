package demo

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/moatdev/moat/internal/audit"
	"github.com/moatdev/moat/internal/config"
	"github.com/moatdev/moat/internal/embedded"
	"github.com/moatdev/moat/internal/query/querytest"
	"github.com/moatdev/moat/internal/store"
	"github.com/moatdev/moat/internal/testutil"
)

// TestMain lets the test binary serve as the query engine process, which
// the demo starts as os.Executable() with the engine subcommand.
func TestMain(m *testing.M) {
	querytest.ServeIfEngine(embedded.QueryEngineCommand)
	slog.SetDefault(slog.New(slog.NewTextHandler(io.Discard, nil)))
	os.Exit(m.Run())
}

func TestDemoEndToEnd(t *testing.T) {
	testutil.RequirePrivileged(t)
	runc := testutil.RuncPath(t)
	shared := testutil.SharedData(t)

	dir := t.TempDir()
	cfg := config.Default(dir)
	cfg.StateDir = filepath.Join(dir, "state")
	cfg.RuncPath = runc
	cfg.SharedData = shared

	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(dir, "moat.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := st.EnsurePrincipal(ctx, "system", store.Principal{Name: "admin", Role: store.RolePlatformAdmin}); err != nil {
		t.Fatal(err)
	}
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))

	var out bytes.Buffer
	err = Run(ctx, Options{
		Config: cfg, Store: st, Audit: &audit.Recorder{Store: st, Log: logger}, Log: logger,
		Actor: "admin", ReceiverAddr: "127.0.0.1:0", Out: &out,
	})
	text := out.String()
	if err != nil {
		t.Fatalf("demo failed: %v\n%s", err, text)
	}

	// The receiver printed real alerts with mainnet transaction hashes.
	received := regexp.MustCompile(`\[receiver /alerts/acme\] large transfer [0-9,.]+ ETH  tx 0x[0-9a-f]{64}`)
	if n := len(received.FindAllString(text, -1)); n < 1 {
		t.Errorf("no alert with a transaction hash reached the receiver:\n%s", text)
	}
	// The largest transfer of the sample data.
	if !strings.Contains(text, "0x3f6a1ea1ed42b4eaf40d1513f5ed68d11617e7723618f9268fdb53d9a2a1c8c0") {
		t.Errorf("the 50,000 ETH transfer is missing from the alerts:\n%s", text)
	}

	for _, attempt := range []string{
		"BLOCKED  tcp to the host's 127.0.0.1:",
		"BLOCKED  write to /: EROFS",
		"BLOCKED  read globex's watchlist by name: gateway rejected it",
		"BLOCKED  read globex's watchlist by file path: gateway rejected it: access_denied",
	} {
		if !strings.Contains(text, attempt) {
			t.Errorf("demo output lacks %q:\n%s", attempt, text)
		}
	}
	if strings.Contains(text, "ESCAPED") {
		t.Errorf("an attack of the hostile job succeeded:\n%s", text)
	}
	if !strings.Contains(text, "all attacks blocked") {
		t.Errorf("demo did not report every attack blocked:\n%s", text)
	}
	if _, err := st.VerifyChain(ctx); err != nil {
		t.Errorf("audit chain broken after the demo: %v", err)
	}
}
