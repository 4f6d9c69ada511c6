package gateway

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"

	"github.com/moatdev/moat/internal/audit"
	"github.com/moatdev/moat/internal/query"
	"github.com/moatdev/moat/internal/store"
)

// maxAuditedSQL caps the SQL text stored in an audit event.
const maxAuditedSQL = 2048

type queryRequest struct {
	SQL string `json:"sql"`
}

func (s *Server) handleQuery(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()

	data, err := readBody(r, s.limits.MaxQueryBody)
	if err != nil {
		s.rejectQuery(w, r, "", http.StatusRequestEntityTooLarge, "body_too_large",
			"query request is larger than "+strconv.FormatInt(s.limits.MaxQueryBody, 10)+" bytes: shorten the SQL")
		return
	}
	var req queryRequest
	if err := json.Unmarshal(data, &req); err != nil || req.SQL == "" {
		s.rejectQuery(w, r, "", http.StatusBadRequest, "invalid_request", `send a JSON object {"sql": "select ..."}`)
		return
	}

	// Serialise queries so the per-run cap counts exactly and one engine
	// process serves one statement at a time.
	s.queryMu.Lock()
	defer s.queryMu.Unlock()

	if s.queries.Load() >= int64(s.limits.MaxQueries) {
		s.rejectQuery(w, r, req.SQL, http.StatusTooManyRequests, "query_limit",
			"this run has used its "+strconv.Itoa(s.limits.MaxQueries)+" queries: combine queries or ask an operator to raise max_queries")
		return
	}
	s.queries.Add(1)

	engine, err := s.engine(ctx)
	if err != nil {
		s.log.Error("start query engine failed", "err", err)
		s.rejectQuery(w, r, req.SQL, http.StatusInternalServerError, "engine_unavailable", "the query engine could not start; the operator has the details")
		return
	}

	var out bytes.Buffer
	stats, err := engine.Query(ctx, req.SQL, &out)
	if err != nil {
		code, message := "engine_error", "the query failed"
		var qe *query.Error
		if errors.As(err, &qe) {
			code, message = qe.Code, qe.Message
		} else {
			s.log.Error("query failed", "err", err)
		}
		s.rejectQuery(w, r, req.SQL, statusForQueryCode(code), code, message)
		return
	}

	s.rows.Add(stats.Rows)
	s.record(ctx, store.Event{
		Type: audit.Query, Decision: audit.Allow, Reason: "ok",
		Details: map[string]any{
			"datasets":      s.run.Datasets,
			"rows_returned": stats.Rows,
			"bytes":         stats.Bytes,
			"sql":           truncate(req.SQL, maxAuditedSQL),
		},
	})

	w.Header().Set("Content-Type", "application/x-ndjson")
	w.Header().Set("X-Moat-Rows", strconv.FormatInt(stats.Rows, 10))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(out.Bytes())
}

// rejectQuery audits a refused or failed query and sends the error.
func (s *Server) rejectQuery(w http.ResponseWriter, r *http.Request, sql string, status int, code, message string) {
	s.record(r.Context(), store.Event{
		Type: audit.QueryRejected, Decision: audit.Deny, Reason: code,
		Details: map[string]any{
			"datasets": s.run.Datasets,
			"message":  message,
			"sql":      truncate(sql, maxAuditedSQL),
		},
	})
	writeError(w, status, code, message)
}

// statusForQueryCode maps a query engine reason code to an HTTP status.
func statusForQueryCode(code string) int {
	switch code {
	case "access_denied":
		return http.StatusForbidden
	case "timeout":
		return http.StatusGatewayTimeout
	case "result_too_large", "out_of_memory":
		return http.StatusUnprocessableEntity
	case "cancelled":
		return http.StatusServiceUnavailable
	case "engine_crashed", "engine_error":
		return http.StatusInternalServerError
	default:
		return http.StatusBadRequest
	}
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
