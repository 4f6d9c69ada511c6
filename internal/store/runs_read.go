package store

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/moatdev/moat/internal/ids"
)

const runColumns = `id, org, job, digest, actor, state, cause, reason, exit_code, limits,
	cpu_seconds, peak_memory_bytes, oom_kills, pids_hits, wall_millis, rows_returned, queries, webhook_calls,
	log_path, log_bytes, log_truncated, cancel_requested, queued_at, started_at, finished_at, worker`

// GetRun returns the run or ErrNotFound.
func (s *SQLite) GetRun(ctx context.Context, id string) (Run, error) {
	if err := ids.ValidateRun(id); err != nil {
		return Run{}, err
	}

	r, err := getRun(ctx, s.db, id)
	if err != nil {
		return Run{}, notFound(err, fmt.Sprintf("run %q", id))
	}
	return r, nil
}

func getRun(ctx context.Context, q queryer, id string) (Run, error) {
	return scanRun(q.QueryRowContext(ctx, `SELECT `+runColumns+` FROM runs WHERE id = ?`, id))
}

// ListRuns returns the runs that match f, newest first. f.Limit 0 means no
// limit.
func (s *SQLite) ListRuns(ctx context.Context, f RunFilter) ([]Run, error) {
	if f.Org != "" {
		if err := ids.ValidateName("org", f.Org); err != nil {
			return nil, err
		}
	}
	switch f.State {
	case "", RunQueued, RunRunning, RunFinished:
	default:
		return nil, fmt.Errorf("invalid run state %q: use %q, %q or %q", f.State, RunQueued, RunRunning, RunFinished)
	}
	if f.Limit < 0 {
		return nil, fmt.Errorf("invalid run limit %d: use 0 for all or a positive number", f.Limit)
	}

	limit := int64(f.Limit)
	if limit == 0 {
		limit = -1 // SQLite: no limit
	}
	return s.queryRuns(ctx, `SELECT `+runColumns+` FROM runs
		WHERE (? = '' OR org = ?) AND (? = '' OR state = ?)
		ORDER BY queued_at DESC, id DESC LIMIT ?`,
		f.Org, f.Org, string(f.State), string(f.State), limit)
}

// ListUnfinishedRuns returns the queued and running runs, oldest first.
func (s *SQLite) ListUnfinishedRuns(ctx context.Context) ([]Run, error) {
	return s.queryRuns(ctx, `SELECT `+runColumns+` FROM runs
		WHERE state IN ('queued', 'running') ORDER BY queued_at, id`)
}

func (s *SQLite) queryRuns(ctx context.Context, query string, args ...any) ([]Run, error) {
	rows, err := s.db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("list runs: %w", err)
	}
	defer rows.Close()

	var out []Run
	for rows.Next() {
		r, err := scanRun(rows)
		if err != nil {
			return nil, fmt.Errorf("list runs: %w", err)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

func scanRun(row scanner) (Run, error) {
	var r Run
	var state, queued string
	var exitCode sql.NullInt64
	var started, finished sql.NullString
	err := row.Scan(&r.ID, &r.Org, &r.Job, &r.Digest, &r.Actor, &state, &r.Cause, &r.Reason, &exitCode, &r.Limits,
		&r.CPUSeconds, &r.PeakMemoryBytes, &r.OOMKills, &r.PidsHits, &r.WallMillis, &r.RowsReturned, &r.Queries, &r.WebhookCalls,
		&r.LogPath, &r.LogBytes, &r.LogTruncated, &r.CancelRequested, &queued, &started, &finished, &r.Worker)
	if err != nil {
		return Run{}, err
	}
	r.State = RunState(state)

	if exitCode.Valid {
		code := int(exitCode.Int64)
		r.ExitCode = &code
	}
	if r.QueuedAt, err = parseTime(queued); err != nil {
		return Run{}, err
	}
	if r.StartedAt, err = parseNullTime(started); err != nil {
		return Run{}, err
	}
	r.FinishedAt, err = parseNullTime(finished)
	return r, err
}
