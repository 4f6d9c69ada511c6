// Package gateway serves the job-facing HTTP API of one run.
//
// The worker opens the listener inside the run's network namespace, so only
// the job can reach it, and every request must carry the run's bearer token.
// The API has two calls:
//
//	POST /v1/query            {"sql": "..."}  → JSON lines, one object per row
//	POST /v1/webhooks/{name}  any JSON value  → 202 {"status":"queued"}
//
// Every error is a JSON object {"error":{"code":..., "message":...}} with a
// stable reason code. Every query, webhook call and rejection is audited.
package gateway

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/moatdev/moat/internal/audit"
	"github.com/moatdev/moat/internal/query"
	"github.com/moatdev/moat/internal/store"
)

// QueryEngine runs one SQL statement and writes the rows as JSON lines.
// *query.Client implements it.
type QueryEngine interface {
	Query(ctx context.Context, sql string, out io.Writer) (query.Stats, error)
}

// Run identifies the run a gateway serves.
type Run struct {
	ID    string
	Org   string
	Job   string
	Actor string
	// Datasets are the declared input datasets, in manifest order.
	Datasets []string
	// Webhooks are the webhook names the manifest declares.
	Webhooks []string
	// WebhookURLs maps each declared webhook name to the destination the
	// org configured for it.
	WebhookURLs map[string]string
}

// Limits caps what one run may ask of the gateway. Zero values are replaced
// by the defaults of DefaultLimits.
type Limits struct {
	MaxQueries      int   // queries per run
	MaxQueryBody    int64 // bytes of one query request
	MaxWebhookCalls int   // webhook calls per run
	MaxWebhookBody  int64 // bytes of one webhook payload
	// MaxDenials is how many requests of a run may be rejected (bad
	// token, denied query, undeclared webhook, ...) before the gateway
	// reports a policy violation.
	MaxDenials int
}

// DefaultLimits returns the limits used when the operator sets none.
func DefaultLimits() Limits {
	return Limits{MaxQueries: 100, MaxQueryBody: 64 << 10, MaxWebhookCalls: 20, MaxWebhookBody: 64 << 10, MaxDenials: 50}
}

// Counters are the run's gateway usage so far.
type Counters struct {
	Queries      int64
	RowsReturned int64
	WebhookCalls int64
	// Denials counts the run's rejected requests.
	Denials int64
}

// Server is the gateway of one run. It is safe for concurrent use.
type Server struct {
	run    Run
	limits Limits
	token  []byte
	engine func(ctx context.Context) (QueryEngine, error)
	store  store.Store
	audit  *audit.Recorder
	log    *slog.Logger

	// queryMu serialises queries: one engine process serves one statement
	// at a time, and the per-run cap must count exactly.
	queryMu  sync.Mutex
	queries  atomic.Int64
	rows     atomic.Int64
	webhooks atomic.Int64
	denials  atomic.Int64
	closed   atomic.Bool

	onViolation func(reason string)
	violated    sync.Once
}

// Config assembles a Server.
type Config struct {
	Run    Run
	Limits Limits
	// Engine returns the run's query engine, starting it on first use.
	Engine func(ctx context.Context) (QueryEngine, error)
	Store  store.Store
	Audit  *audit.Recorder
	Log    *slog.Logger
	// OnPolicyViolation is called once when the run passes MaxDenials; the
	// worker kills the run as killed_by_policy. Nil only logs.
	OnPolicyViolation func(reason string)
}

// New returns a gateway for one run and the bearer token the job must send.
// The token is 32 random bytes, base64url-encoded.
func New(cfg Config) (*Server, string, error) {
	var raw [32]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return nil, "", err
	}
	token := base64.RawURLEncoding.EncodeToString(raw[:])

	limits := cfg.Limits
	def := DefaultLimits()
	if limits.MaxQueries <= 0 {
		limits.MaxQueries = def.MaxQueries
	}
	if limits.MaxQueryBody <= 0 {
		limits.MaxQueryBody = def.MaxQueryBody
	}
	if limits.MaxWebhookCalls <= 0 {
		limits.MaxWebhookCalls = def.MaxWebhookCalls
	}
	if limits.MaxWebhookBody <= 0 {
		limits.MaxWebhookBody = def.MaxWebhookBody
	}
	if limits.MaxDenials <= 0 {
		limits.MaxDenials = def.MaxDenials
	}

	logger := cfg.Log
	if logger == nil {
		logger = slog.Default()
	}

	s := &Server{
		run:    cfg.Run,
		limits: limits,
		token:  []byte(token),
		engine: cfg.Engine,
		store:  cfg.Store,
		audit:  cfg.Audit,
		log:    logger.With("run", cfg.Run.ID),

		onViolation: cfg.OnPolicyViolation,
	}
	return s, token, nil
}

// Handler returns the HTTP handler of the gateway API.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/query", s.handleQuery)
	mux.HandleFunc("POST /v1/webhooks/{name}", s.handleWebhook)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "not_found", "no such endpoint: use POST /v1/query or POST /v1/webhooks/{name}")
	})
	return s.authenticate(mux)
}

// Close revokes the run's token: every later request is rejected with
// run_ended, even one that carries the right token.
func (s *Server) Close() { s.closed.Store(true) }

// Counters returns the run's usage of the gateway so far.
func (s *Server) Counters() Counters {
	return Counters{Queries: s.queries.Load(), RowsReturned: s.rows.Load(), WebhookCalls: s.webhooks.Load(), Denials: s.denials.Load()}
}

// authenticate checks the bearer token in constant time before any handler
// runs, and rejects every request once the run has ended.
func (s *Server) authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.closed.Load() {
			writeError(w, http.StatusUnauthorized, "run_ended", "the run has ended and its token is revoked")
			return
		}

		presented, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		// ConstantTimeCompare leaks only the length, and every valid token
		// has the same length.
		if !ok || subtle.ConstantTimeCompare([]byte(presented), s.token) != 1 {
			s.record(r.Context(), store.Event{
				Type: audit.GatewayAuthFail, Decision: audit.Deny, Reason: "unauthenticated",
				Details: map[string]any{"path": r.URL.Path},
			})
			writeError(w, http.StatusUnauthorized, "unauthenticated", "missing or invalid bearer token: send 'Authorization: Bearer $MOAT_TOKEN'")
			return
		}
		next.ServeHTTP(w, r)
	})
}

// record fills in the run's identity and appends the event to the audit
// log. An audit failure is logged by the recorder; the request's outcome
// does not change. A denial also counts towards MaxDenials.
func (s *Server) record(ctx context.Context, e store.Event) {
	// The violation event is itself a denial but must not count again.
	if e.Decision == audit.Deny && e.Type != audit.PolicyViolation {
		defer s.countDenial(ctx)
	}
	e.Actor = s.run.Actor
	e.Org = s.run.Org
	e.RunID = s.run.ID
	e.Job = s.run.Job
	if s.audit == nil {
		s.log.Error("gateway has no audit recorder", "type", e.Type)
		return
	}
	_, _ = s.audit.Record(ctx, e)
}

// countDenial counts one rejected request and reports a policy violation
// once the run passes MaxDenials: a job that keeps probing for data or
// endpoints it was not granted is treated as hostile, not as buggy.
func (s *Server) countDenial(ctx context.Context) {
	n := s.denials.Add(1)
	if n <= int64(s.limits.MaxDenials) {
		return
	}
	s.violated.Do(func() {
		reason := fmt.Sprintf("the job made more than %d rejected gateway requests", s.limits.MaxDenials)
		s.log.Warn("gateway policy violation", "denials", n, "max_denials", s.limits.MaxDenials)
		// Revoke the token first: the kill takes a moment, and no request
		// of a run moat has decided to kill may be served in between.
		s.Close()
		s.record(ctx, store.Event{
			Type: audit.PolicyViolation, Decision: audit.Deny, Reason: "too_many_denials",
			Details: map[string]any{"denials": n, "max_denials": s.limits.MaxDenials, "message": reason},
		})
		if s.onViolation != nil {
			s.onViolation(reason)
		}
	})
}
