package gateway_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/moatdev/moat/internal/audit"
	"github.com/moatdev/moat/internal/dataset"
	"github.com/moatdev/moat/internal/gateway"
	"github.com/moatdev/moat/internal/query"
	"github.com/moatdev/moat/internal/query/querytest"
	"github.com/moatdev/moat/internal/store"
)

const engineArg = "__test-query-engine"

// TestMain lets the test binary serve as the query engine process.
func TestMain(m *testing.M) {
	querytest.ServeIfEngine(engineArg)
	os.Exit(m.Run())
}

type fixture struct {
	srv   *gateway.Server
	http  *httptest.Server
	token string
	store *store.SQLite
	runID string
}

// newFixture starts a gateway for a real run of org acme with one dataset
// "watchlist" and a real query engine process.
func newFixture(t *testing.T, limits gateway.Limits) *fixture {
	t.Helper()
	return newFixtureWith(t, limits, nil)
}

// newFixtureWith is newFixture with a policy violation callback.
func newFixtureWith(t *testing.T, limits gateway.Limits, onViolation func(string)) *fixture {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()

	st, err := store.Open(ctx, filepath.Join(dir, "moat.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	mustDo(t, func() error { _, err := st.EnsureOrg(ctx, "admin", "acme"); return err })
	mustDo(t, func() error { return st.EnsureJob(ctx, "admin", store.Job{Org: "acme", Name: "job", Kind: "alert"}) })
	run := store.Run{ID: "r-00000000000000aa", Org: "acme", Job: "job", Actor: "admin", State: store.RunQueued, QueuedAt: time.Now()}
	mustDo(t, func() error { return st.CreateRun(ctx, run) })
	mustDo(t, func() error { return st.MarkRunStarted(ctx, run.ID, time.Now()) })

	csvPath := filepath.Join(dir, "w.csv")
	mustDo(t, func() error { return os.WriteFile(csvPath, []byte("address,label\n0xaaa,one\n0xbbb,two\n"), 0o600) })
	cols, err := dataset.ParseSchema("address VARCHAR, label VARCHAR")
	if err != nil {
		t.Fatal(err)
	}
	dsDir := filepath.Join(dir, "ds")
	if _, err := dataset.Import(ctx, dataset.Source{Path: csvPath, Schema: cols}, dsDir); err != nil {
		t.Fatal(err)
	}

	spill := filepath.Join(dir, "spill")
	mustDo(t, func() error { return os.MkdirAll(spill, 0o700) })
	var client *query.Client
	t.Cleanup(func() {
		if client != nil {
			client.Close()
		}
	})
	engine := func(ctx context.Context) (gateway.QueryEngine, error) {
		if client == nil {
			c, err := query.Start(context.Background(), query.Config{
				Views:            []query.View{{Name: "watchlist", Files: []string{filepath.Join(dsDir, "data.parquet")}}},
				TempDir:          spill,
				StatementTimeout: 10 * time.Second,
			}, os.Args[0], engineArg)
			if err != nil {
				return nil, err
			}
			client = c
		}
		return client, nil
	}

	rec := &audit.Recorder{Store: st}
	srv, token, err := gateway.New(gateway.Config{
		Run: gateway.Run{
			ID: run.ID, Org: "acme", Job: "job", Actor: "admin",
			Datasets: []string{"watchlist"}, Webhooks: []string{"alerts", "unset"},
			WebhookURLs: map[string]string{"alerts": "http://127.0.0.1:9/hook"},
		},
		Limits: limits,
		Engine: engine,
		Store:  st,
		Audit:  rec,

		OnPolicyViolation: onViolation,
	})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(hs.Close)
	return &fixture{srv: srv, http: hs, token: token, store: st, runID: run.ID}
}

func mustDo(t *testing.T, fn func() error) {
	t.Helper()
	if err := fn(); err != nil {
		t.Fatal(err)
	}
}

// post sends a request and returns the status, the error code (if any)
// and the body.
func (f *fixture) post(t *testing.T, path, token, body string) (int, string, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, f.http.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)

	var e struct {
		Error struct{ Code string } `json:"error"`
	}
	_ = json.Unmarshal(data, &e)
	return resp.StatusCode, e.Error.Code, string(data)
}

func (f *fixture) lastEvent(t *testing.T) store.Event {
	t.Helper()
	events, err := f.store.ListAudit(context.Background(), store.AuditFilter{})
	if err != nil || len(events) == 0 {
		t.Fatalf("no audit events (err %v)", err)
	}
	return events[len(events)-1]
}

func TestTokenRequired(t *testing.T) {
	f := newFixture(t, gateway.Limits{})
	cases := map[string]string{"missing": "", "wrong": strings.Repeat("x", len(f.token)), "prefix": f.token[:10]}
	for name, token := range cases {
		t.Run(name, func(t *testing.T) {
			status, code, _ := f.post(t, "/v1/query", token, `{"sql":"select 1"}`)
			if status != http.StatusUnauthorized || code != "unauthenticated" {
				t.Fatalf("status %d code %q, want 401 unauthenticated", status, code)
			}
			e := f.lastEvent(t)
			if e.Type != audit.GatewayAuthFail || e.Decision != audit.Deny || e.RunID != f.runID {
				t.Errorf("audit event = %+v, want a gateway.auth_failed denial for the run", e)
			}
		})
	}
}

func TestTokenUselessAfterClose(t *testing.T) {
	f := newFixture(t, gateway.Limits{})
	if status, _, body := f.post(t, "/v1/query", f.token, `{"sql":"select 1 as x"}`); status != http.StatusOK {
		t.Fatalf("query before close: status %d body %s", status, body)
	}

	f.srv.Close()

	status, code, _ := f.post(t, "/v1/query", f.token, `{"sql":"select 1 as x"}`)
	if status != http.StatusUnauthorized || code != "run_ended" {
		t.Fatalf("status %d code %q, want 401 run_ended", status, code)
	}
}

func TestQueryReturnsRowsAndAudits(t *testing.T) {
	f := newFixture(t, gateway.Limits{})

	status, _, body := f.post(t, "/v1/query", f.token, `{"sql":"select address from watchlist order by address"}`)

	if status != http.StatusOK {
		t.Fatalf("status %d body %s", status, body)
	}
	lines := strings.Split(strings.TrimSpace(body), "\n")
	if len(lines) != 2 || !strings.Contains(lines[0], "0xaaa") || !strings.Contains(lines[1], "0xbbb") {
		t.Fatalf("body = %q, want two JSON lines with 0xaaa and 0xbbb", body)
	}
	e := f.lastEvent(t)
	if e.Type != audit.Query || fmt.Sprint(e.Details["rows_returned"]) != "2" {
		t.Errorf("audit event %+v, want a query event with rows_returned 2", e)
	}
	if got := f.srv.Counters(); got.Queries != 1 || got.RowsReturned != 2 {
		t.Errorf("counters = %+v, want 1 query and 2 rows", got)
	}
}

func TestQueryErrorsCarryReasonCodes(t *testing.T) {
	f := newFixture(t, gateway.Limits{})
	cases := []struct {
		body   string
		status int
		code   string
	}{
		{`{"sql":"select * from read_csv('/etc/passwd')"}`, http.StatusForbidden, "access_denied"},
		{`{"sql":"select * from no_such_table"}`, http.StatusBadRequest, "invalid_sql"},
		{`{"sql":""}`, http.StatusBadRequest, "invalid_request"},
		{`not json`, http.StatusBadRequest, "invalid_request"},
	}
	for _, tc := range cases {
		status, code, body := f.post(t, "/v1/query", f.token, tc.body)
		if status != tc.status || code != tc.code {
			t.Errorf("%s: status %d code %q (%s), want %d %q", tc.body, status, code, body, tc.status, tc.code)
			continue
		}
		e := f.lastEvent(t)
		if e.Type != audit.QueryRejected || e.Reason != tc.code {
			t.Errorf("%s: audit event %s/%s, want query.rejected/%s", tc.body, e.Type, e.Reason, tc.code)
		}
	}
}

func TestQueryCapPerRun(t *testing.T) {
	f := newFixture(t, gateway.Limits{MaxQueries: 2})
	for i := 0; i < 2; i++ {
		if status, _, body := f.post(t, "/v1/query", f.token, `{"sql":"select 1 as x"}`); status != http.StatusOK {
			t.Fatalf("query %d: status %d body %s", i, status, body)
		}
	}

	status, code, _ := f.post(t, "/v1/query", f.token, `{"sql":"select 1 as x"}`)

	if status != http.StatusTooManyRequests || code != "query_limit" {
		t.Fatalf("third query: status %d code %q, want 429 query_limit", status, code)
	}
}

func TestWebhookRules(t *testing.T) {
	f := newFixture(t, gateway.Limits{MaxWebhookCalls: 1, MaxWebhookBody: 1024})
	cases := []struct {
		name, path, body string
		status           int
		code             string
	}{
		{"undeclared", "/v1/webhooks/exfil", `{}`, http.StatusNotFound, "unknown_webhook"},
		{"not configured", "/v1/webhooks/unset", `{}`, http.StatusConflict, "webhook_not_configured"},
		{"too large", "/v1/webhooks/alerts", `"` + strings.Repeat("a", 2000) + `"`, http.StatusRequestEntityTooLarge, "body_too_large"},
		{"not json", "/v1/webhooks/alerts", `{oops`, http.StatusBadRequest, "invalid_json"},
		{"queued", "/v1/webhooks/alerts", `{"tx":"0x1"}`, http.StatusAccepted, ""},
		{"over the cap", "/v1/webhooks/alerts", `{"tx":"0x2"}`, http.StatusTooManyRequests, "webhook_limit"},
	}
	for _, tc := range cases {
		status, code, body := f.post(t, tc.path, f.token, tc.body)
		if status != tc.status || code != tc.code {
			t.Errorf("%s: status %d code %q (%s), want %d %q", tc.name, status, code, body, tc.status, tc.code)
		}
	}

	items, err := f.store.ListOutbox(context.Background(), f.runID)
	if err != nil {
		t.Fatal(err)
	}
	if len(items) != 1 || string(items[0].Body) != `{"tx":"0x1"}` || items[0].URL != "http://127.0.0.1:9/hook" {
		t.Fatalf("outbox = %+v, want exactly the one queued call to the configured URL", items)
	}
	if items[0].IdempotencyKey != f.runID+"-1" {
		t.Errorf("idempotency key = %q, want %q", items[0].IdempotencyKey, f.runID+"-1")
	}
}

func TestDenialsTriggerPolicyViolationOnce(t *testing.T) {
	var reasons []string
	f := newFixtureWith(t, gateway.Limits{MaxDenials: 3}, func(reason string) { reasons = append(reasons, reason) })

	for i := 0; i < 6; i++ {
		f.post(t, "/v1/webhooks/exfil", f.token, `{}`)
	}

	if len(reasons) != 1 || !strings.Contains(reasons[0], "more than 3 rejected gateway requests") {
		t.Fatalf("violations = %q, want exactly one naming the limit", reasons)
	}
	// The violation revoked the token: the fifth and sixth calls are
	// rejected as run_ended before any handler runs.
	if got := f.srv.Counters().Denials; got != 4 {
		t.Errorf("denials = %d, want 4 (3 allowed, the 4th triggers the violation)", got)
	}
	status, code, _ := f.post(t, "/v1/query", f.token, `{"sql":"select 1 as x"}`)
	if status != http.StatusUnauthorized || code != "run_ended" {
		t.Errorf("a valid query after the violation got %d %q, want 401 run_ended", status, code)
	}
	events, err := f.store.ListAudit(context.Background(), store.AuditFilter{})
	if err != nil {
		t.Fatal(err)
	}
	violations := 0
	for _, e := range events {
		if e.Type == audit.PolicyViolation {
			violations++
		}
	}
	if violations != 1 {
		t.Errorf("audit has %d policy.violation events, want 1", violations)
	}
}
