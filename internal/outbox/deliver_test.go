package outbox

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/moatdev/moat/internal/egress"
	"github.com/moatdev/moat/internal/ids"
	"github.com/moatdev/moat/internal/store"
)

// Every request in these tests goes to an httptest server on 127.0.0.1.

const (
	testOrg   = "acme"
	testActor = "alice"
	// secretToken stands for a credential in a webhook URL; it must never
	// reach a log line or an audit event.
	secretToken = "tok-s3cr3t"
)

// receiver is a loopback webhook receiver that records what it got.
type receiver struct {
	*httptest.Server

	mu       sync.Mutex
	requests []recorded
}

type recorded struct {
	method string
	header http.Header
	body   []byte
}

func newReceiver(t *testing.T, handler func(w http.ResponseWriter, r *http.Request)) *receiver {
	t.Helper()
	rc := &receiver{}
	rc.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		rc.mu.Lock()
		rc.requests = append(rc.requests, recorded{method: r.Method, header: r.Header.Clone(), body: body})
		rc.mu.Unlock()
		handler(w, r)
	}))
	t.Cleanup(rc.Close)
	return rc
}

func (rc *receiver) received() []recorded {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]recorded(nil), rc.requests...)
}

func (rc *receiver) hostPort() string {
	return rc.Listener.Addr().String()
}

func status(code int) func(http.ResponseWriter, *http.Request) {
	return func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(code) }
}

// fixture is a real SQLite store with one org, job and run, and a
// Deliverer whose log lines are kept.
type fixture struct {
	store     *store.SQLite
	runID     string
	deliverer *Deliverer
	logs      *bytes.Buffer
}

func newFixture(t *testing.T, allow ...string) *fixture {
	t.Helper()
	ctx := context.Background()

	st, err := store.Open(ctx, filepath.Join(t.TempDir(), "moat.db"))
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() { st.Close() })

	if _, err := st.EnsureOrg(ctx, testActor, testOrg); err != nil {
		t.Fatalf("create org: %v", err)
	}
	if err := st.EnsureJob(ctx, testActor, store.Job{Org: testOrg, Name: "whale-alert", Kind: "alert"}); err != nil {
		t.Fatalf("create job: %v", err)
	}
	runID := ids.NewRun()
	if err := st.CreateRun(ctx, store.Run{ID: runID, Org: testOrg, Job: "whale-alert", Actor: testActor}); err != nil {
		t.Fatalf("create run: %v", err)
	}

	logs := &bytes.Buffer{}
	logger := slog.New(slog.NewJSONHandler(logs, nil))
	dialer := &egress.Dialer{Policy: egress.Policy{Allow: allow}, Logger: logger, Timeout: 30 * time.Second}

	return &fixture{
		store: st,
		runID: runID,
		logs:  logs,
		deliverer: &Deliverer{
			Store:     st,
			Client:    NewClient(dialer, 30*time.Second),
			Logger:    logger,
			UserAgent: "moat-test",
		},
	}
}

func (f *fixture) enqueue(t *testing.T, webhook, url, body string) store.OutboxItem {
	t.Helper()
	ctx := context.Background()

	id, err := f.store.EnqueueOutbox(ctx, store.OutboxItem{RunID: f.runID, Org: testOrg, Webhook: webhook, URL: url, Body: []byte(body)})
	if err != nil {
		t.Fatalf("enqueue: %v", err)
	}
	return f.item(t, id)
}

func (f *fixture) item(t *testing.T, id int64) store.OutboxItem {
	t.Helper()
	items, err := f.store.ListOutbox(context.Background(), f.runID)
	if err != nil {
		t.Fatalf("list outbox: %v", err)
	}
	for _, it := range items {
		if it.ID == id {
			return it
		}
	}
	t.Fatalf("outbox item %d not found", id)
	return store.OutboxItem{}
}

func (f *fixture) deliver(t *testing.T) Summary {
	t.Helper()
	sum, err := f.deliverer.DeliverRun(context.Background(), f.runID)
	if err != nil {
		t.Fatalf("DeliverRun: %v", err)
	}
	return sum
}

func (f *fixture) auditEvents(t *testing.T) []store.Event {
	t.Helper()
	events, err := f.store.ListAudit(context.Background(), store.AuditFilter{RunID: f.runID})
	if err != nil {
		t.Fatalf("list audit: %v", err)
	}
	return events
}

// checkOutcome asserts the stored item and its single audit event.
func (f *fixture) checkOutcome(t *testing.T, id int64, state store.OutboxState, status int, lastError, eventType, decision string) {
	t.Helper()

	it := f.item(t, id)
	if it.State != state {
		t.Errorf("state = %q, want %q", it.State, state)
	}
	if it.LastStatus != status {
		t.Errorf("last status = %d, want %d", it.LastStatus, status)
	}
	if it.LastError != lastError {
		t.Errorf("last error = %q, want %q", it.LastError, lastError)
	}
	if it.Attempts != 1 {
		t.Errorf("attempts = %d, want 1", it.Attempts)
	}

	events := f.auditEvents(t)
	if len(events) != 1 {
		t.Fatalf("got %d audit events, want 1: %+v", len(events), events)
	}
	e := events[0]
	wantReason := lastError
	if state == store.OutboxDelivered {
		wantReason = "delivered"
	}
	if e.Type != eventType || e.Decision != decision || e.Reason != wantReason {
		t.Errorf("audit event = type %q decision %q reason %q, want %q %q %q", e.Type, e.Decision, e.Reason, eventType, decision, wantReason)
	}
	if e.Org != testOrg || e.RunID != f.runID || e.Actor != testActor || e.Job != "whale-alert" {
		t.Errorf("audit event names org %q run %q actor %q job %q", e.Org, e.RunID, e.Actor, e.Job)
	}
	if got := e.Details["webhook"]; got != "alerts" {
		t.Errorf("audit webhook = %v, want \"alerts\"", got)
	}
	if got := e.Details["url_host"]; got != "127.0.0.1" {
		t.Errorf("audit url_host = %v, want \"127.0.0.1\"", got)
	}
	if got, _ := json.Marshal(e.Details["status"]); string(got) != jsonInt(status) {
		t.Errorf("audit status = %s, want %d", got, status)
	}
}

func jsonInt(n int) string {
	b, _ := json.Marshal(n)
	return string(b)
}

// checkNoLeak asserts that neither the token in the URL nor the body
// reached the logs or the audit log.
func (f *fixture) checkNoLeak(t *testing.T, secrets ...string) {
	t.Helper()
	events, _ := json.Marshal(f.auditEvents(t))

	for _, s := range secrets {
		if strings.Contains(f.logs.String(), s) {
			t.Errorf("log output contains %q:\n%s", s, f.logs.String())
		}
		if strings.Contains(string(events), s) {
			t.Errorf("audit events contain %q: %s", s, events)
		}
	}
}

func TestDeliverRunDeliversOnce(t *testing.T) {
	rc := newReceiver(t, status(http.StatusAccepted))
	f := newFixture(t, rc.hostPort())
	body := `{"alert":"whale","value":"body-marker-42"}`
	it := f.enqueue(t, "alerts", rc.URL+"/hook/"+secretToken+"?sig="+secretToken, body)

	sum := f.deliver(t)

	if sum != (Summary{Delivered: 1}) {
		t.Errorf("summary = %+v, want 1 delivered", sum)
	}
	got := rc.received()
	if len(got) != 1 {
		t.Fatalf("receiver got %d requests, want 1", len(got))
	}
	req := got[0]
	if req.method != http.MethodPost {
		t.Errorf("method = %s, want POST", req.method)
	}
	if string(req.body) != body {
		t.Errorf("body = %q, want %q", req.body, body)
	}
	wantHeaders := map[string]string{
		"Content-Type":    "application/json",
		"Idempotency-Key": it.IdempotencyKey,
		"X-Moat-Run":      f.runID,
		"User-Agent":      "moat-test",
	}
	for name, want := range wantHeaders {
		if v := req.header.Get(name); v != want {
			t.Errorf("header %s = %q, want %q", name, v, want)
		}
	}
	if it.IdempotencyKey == "" {
		t.Errorf("the store gave the item no idempotency key")
	}

	f.checkOutcome(t, it.ID, store.OutboxDelivered, http.StatusAccepted, "", EventDelivered, "allow")
	f.checkNoLeak(t, secretToken, "body-marker-42")

	again := f.deliver(t)
	if again != (Summary{}) {
		t.Errorf("second DeliverRun summary = %+v, want nothing to do", again)
	}
	if n := len(rc.received()); n != 1 {
		t.Errorf("receiver got %d requests after a second DeliverRun, want 1", n)
	}
}

func TestDeliverRunServerError(t *testing.T) {
	rc := newReceiver(t, status(http.StatusInternalServerError))
	f := newFixture(t, rc.hostPort())
	it := f.enqueue(t, "alerts", rc.URL+"/hook", `{}`)

	sum := f.deliver(t)

	if sum != (Summary{Failed: 1}) {
		t.Errorf("summary = %+v, want 1 failed", sum)
	}
	if n := len(rc.received()); n != 1 {
		t.Errorf("receiver got %d requests, want exactly 1 (no retry yet)", n)
	}
	f.checkOutcome(t, it.ID, store.OutboxFailed, http.StatusInternalServerError, ReasonHTTPStatus, EventDeliveryFailed, "info")
}

func TestDeliverRunDoesNotFollowRedirect(t *testing.T) {
	target := newReceiver(t, status(http.StatusOK))
	rc := newReceiver(t, func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, target.URL+"/elsewhere", http.StatusFound)
	})
	// Both are allowlisted, so only the redirect rule stops the second hop.
	f := newFixture(t, rc.hostPort(), target.hostPort())
	it := f.enqueue(t, "alerts", rc.URL+"/hook", `{}`)

	sum := f.deliver(t)

	if sum != (Summary{Failed: 1}) {
		t.Errorf("summary = %+v, want 1 failed", sum)
	}
	if n := len(rc.received()); n != 1 {
		t.Errorf("redirecting receiver got %d requests, want 1", n)
	}
	if n := len(target.received()); n != 0 {
		t.Errorf("redirect target got %d requests, want 0", n)
	}
	f.checkOutcome(t, it.ID, store.OutboxFailed, http.StatusFound, ReasonRedirect, EventDeliveryFailed, "info")
}

func TestDeliverRunRedirectNotFollowedWithPlainClient(t *testing.T) {
	target := newReceiver(t, status(http.StatusOK))
	rc := newReceiver(t, func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, target.URL+"/elsewhere", http.StatusTemporaryRedirect)
	})
	f := newFixture(t, rc.hostPort(), target.hostPort())
	// A client built without NewClient follows redirects by default; the
	// Deliverer turns that off.
	f.deliverer.Client = &http.Client{Transport: f.deliverer.Client.Transport}
	f.enqueue(t, "alerts", rc.URL+"/hook", `{}`)

	f.deliver(t)

	if n := len(target.received()); n != 0 {
		t.Errorf("redirect target got %d requests, want 0", n)
	}
}

func TestDeliverRunDestinationNotAllowlisted(t *testing.T) {
	rc := newReceiver(t, status(http.StatusOK))
	f := newFixture(t)
	it := f.enqueue(t, "alerts", rc.URL+"/hook?token="+secretToken, `{"v":"body-marker-7"}`)

	sum := f.deliver(t)

	if sum != (Summary{Failed: 1}) {
		t.Errorf("summary = %+v, want 1 failed", sum)
	}
	if n := len(rc.received()); n != 0 {
		t.Errorf("receiver got %d requests, want 0", n)
	}
	f.checkOutcome(t, it.ID, store.OutboxFailed, 0, egress.ReasonLoopback, EventDeliveryFailed, "deny")
	f.checkNoLeak(t, secretToken, "body-marker-7")
}

func TestDeliverRunRejectsInvalidURLs(t *testing.T) {
	rc := newReceiver(t, status(http.StatusOK))
	f := newFixture(t, rc.hostPort())
	port := rc.URL[strings.LastIndex(rc.URL, ":")+1:]

	cases := map[string]string{
		"user@":   "http://user:" + secretToken + "@127.0.0.1:" + port + "/hook",
		"ftp":     "ftp://127.0.0.1:" + port + "/hook",
		"numeric": "http://2130706433:" + port + "/hook",
	}
	for _, url := range cases {
		f.enqueue(t, "alerts", url, `{}`)
	}

	sum := f.deliver(t)

	if sum != (Summary{Failed: len(cases)}) {
		t.Errorf("summary = %+v, want %d failed", sum, len(cases))
	}
	if n := len(rc.received()); n != 0 {
		t.Errorf("receiver got %d requests, want 0", n)
	}

	items, err := f.store.ListOutbox(context.Background(), f.runID)
	if err != nil {
		t.Fatalf("list outbox: %v", err)
	}
	reasons := map[string]bool{}
	for _, it := range items {
		reasons[it.LastError] = true
	}
	for _, want := range []string{ReasonInvalidURL, egress.ReasonInvalidHost} {
		if !reasons[want] {
			t.Errorf("no item failed with reason %q; got %v", want, reasons)
		}
	}
	f.checkNoLeak(t, secretToken)
}

func TestDeliverRunRejectsEmptyRunID(t *testing.T) {
	f := newFixture(t)

	_, err := f.deliverer.DeliverRun(context.Background(), "")

	if err == nil {
		t.Fatalf("DeliverRun accepted an empty run id, which would claim every run's items")
	}
}

func TestDeliverRunCancelledContext(t *testing.T) {
	rc := newReceiver(t, status(http.StatusOK))
	f := newFixture(t, rc.hostPort())
	it := f.enqueue(t, "alerts", rc.URL+"/hook", `{}`)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()

	_, err := f.deliverer.DeliverRun(ctx, f.runID)

	if !errors.Is(err, context.Canceled) {
		t.Errorf("error = %v, want context.Canceled", err)
	}
	if got := f.item(t, it.ID).State; got != store.OutboxPending {
		t.Errorf("state = %q, want the item left pending", got)
	}
}

func TestClientBoundsResponseBody(t *testing.T) {
	big := bytes.Repeat([]byte("x"), 4*MaxResponseBody)
	rc := newReceiver(t, func(w http.ResponseWriter, _ *http.Request) { w.Write(big) })
	client := NewClient(&egress.Dialer{Policy: egress.Policy{Allow: []string{rc.hostPort()}}}, 30*time.Second)

	resp, err := client.Get(rc.URL)
	if err != nil {
		t.Fatalf("GET: %v", err)
	}
	defer resp.Body.Close()
	got, err := io.ReadAll(resp.Body)

	if !errors.Is(err, errBodyTooLarge) {
		t.Errorf("read error = %v, want errBodyTooLarge", err)
	}
	if len(got) != MaxResponseBody {
		t.Errorf("read %d bytes, want %d", len(got), MaxResponseBody)
	}
}

func TestClientReadsBodyAtLimit(t *testing.T) {
	exact := bytes.Repeat([]byte("x"), MaxResponseBody)
	rc := newReceiver(t, func(w http.ResponseWriter, _ *http.Request) { w.Write(exact) })
	client := NewClient(&egress.Dialer{Policy: egress.Policy{Allow: []string{rc.hostPort()}}}, 30*time.Second)

	resp, err := client.Get(rc.URL)
	if err != nil {
		t.Fatalf("GET: %v", err)
	}
	defer resp.Body.Close()
	got, err := io.ReadAll(resp.Body)

	if err != nil {
		t.Errorf("read error = %v, want none for a body of exactly the limit", err)
	}
	if len(got) != MaxResponseBody {
		t.Errorf("read %d bytes, want %d", len(got), MaxResponseBody)
	}
}

// The environment cannot be used to test this: Go's ProxyFromEnvironment
// never proxies loopback destinations, so the transport is inspected.
func TestClientIgnoresProxyEnvironment(t *testing.T) {
	client := NewClient(nil, 0)

	transport, ok := client.Transport.(*limitedTransport)
	if !ok {
		t.Fatalf("transport is %T, want *limitedTransport", client.Transport)
	}
	if transport.base.Proxy != nil {
		t.Errorf("transport has a Proxy function; HTTP_PROXY would bypass the egress dialer")
	}
	if transport.base.DialContext == nil {
		t.Errorf("transport has no DialContext; connections would bypass the egress dialer")
	}
}
