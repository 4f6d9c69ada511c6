package query

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"
)

// maxRestarts is how many times a client replaces an engine that crashed or
// was killed. After that every query fails with engine_crashed, so a job
// that keeps crashing DuckDB cannot keep the host busy starting engines.
const maxRestarts = 5

// errClosed is returned by Query after Close.
var errClosed = errors.New("query engine client is closed")

// Client runs queries in an engine child process. Queries run one at a
// time; concurrent calls wait their turn. After a crash or a kill the next
// query starts a fresh engine.
type Client struct {
	cfg  Config
	exe  string
	args []string

	// turn holds one token per running query.
	turn chan struct{}

	mu       sync.Mutex
	child    *child
	closed   bool
	restarts int
	nextID   uint64
}

// Start validates cfg, starts the engine by running exe with args (the moat
// binary wires "moat __query-engine" to Serve) and waits until the engine
// is locked down and ready. ctx bounds the start only; the engine runs until
// Close.
//
// TODO: the engine process runs with moat's privileges (root) and only
// DuckDB's memory_limit bounds it; give it an unprivileged uid and a
// per-run cgroup so a DuckDB bug cannot reach the host as root.
func Start(ctx context.Context, cfg Config, exe string, args ...string) (*Client, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}

	c := &Client{cfg: cfg, exe: exe, args: args, turn: make(chan struct{}, 1)}
	ch, err := startChild(ctx, cfg, exe, args)
	if err != nil {
		return nil, err
	}
	c.child = ch
	return c, nil
}

// Query runs one statement and writes its rows to out as JSON lines, one
// object per row. On result_too_large the rows up to the cap have been
// written and Stats counts them. Errors from the engine are *Error; a failed
// write to out is returned wrapped, after the query was cancelled.
func (c *Client) Query(ctx context.Context, sql string, out io.Writer) (Stats, error) {
	select {
	case c.turn <- struct{}{}:
	case <-ctx.Done():
		return Stats{}, newError(CodeCancelled, "the query was cancelled while it waited for the previous one")
	}
	defer func() { <-c.turn }()

	ch, id, err := c.engine(ctx)
	if err != nil {
		return Stats{}, err
	}

	results := make(chan exchangeResult, 1)
	go func() { results <- c.exchange(ch, id, sql, out) }()

	return c.await(ctx, ch, id, results)
}

// engine returns the running engine, starting a new one when the last one
// was lost, and the id for the next query.
func (c *Client) engine(ctx context.Context) (*child, uint64, error) {
	c.mu.Lock()
	defer c.mu.Unlock()

	if c.closed {
		return nil, 0, errClosed
	}
	if c.child != nil && c.child.hasExited() {
		slog.Warn("query engine exited between queries", "pid", c.child.pid, "exit", exitText(c.child.waitErr))
		c.child.stop(0)
		c.child = nil
	}
	if c.child == nil {
		if c.restarts >= maxRestarts {
			return nil, 0, newError(CodeEngineCrashed, "the query engine crashed or was killed %d times in this run, so no more queries run: simplify the queries that time out or fail", c.restarts)
		}
		c.restarts++
		ch, err := startChild(ctx, c.cfg, c.exe, c.args)
		if err != nil {
			return nil, 0, newError(CodeEngineError, "the query engine could not be restarted: %s", err)
		}
		c.child = ch
	}

	c.nextID++
	return c.child, c.nextID, nil
}

// await waits for the exchange. After the caller's context ends it sends a
// cancel frame. It kills the engine when no done frame arrived
// InterruptGrace after that, or StatementTimeout plus InterruptGrace after
// the query was sent.
func (c *Client) await(ctx context.Context, ch *child, id uint64, results <-chan exchangeResult) (Stats, error) {
	deadline := time.NewTimer(c.cfg.StatementTimeout + c.cfg.InterruptGrace)
	defer deadline.Stop()
	done := ctx.Done()
	var grace <-chan time.Time

	for {
		select {
		case res := <-results:
			return c.finish(ch, id, res)

		case <-done:
			done = nil
			grace = time.After(c.cfg.InterruptGrace)
			go func() { _ = ch.send(request{Type: frameCancel, ID: id}) }()

		case <-grace:
			res := c.kill(ch, results, "cancelled query")
			return res.stats, newError(CodeCancelled, "the query was cancelled; the engine did not stop within %s and was restarted", c.cfg.InterruptGrace)

		case <-deadline.C:
			res := c.kill(ch, results, "statement timeout")
			return res.stats, newError(CodeTimeout, "the query ran longer than the statement timeout of %s and did not stop within %s, so the engine was restarted: filter earlier, aggregate or add LIMIT", c.cfg.StatementTimeout, c.cfg.InterruptGrace)
		}
	}
}

// finish turns an exchange result into Query's return values and drops an
// engine that broke the protocol, died or reported an engine error.
func (c *Client) finish(ch *child, id uint64, res exchangeResult) (Stats, error) {
	if res.broken != nil {
		slog.Error("query engine failed", "pid", ch.pid, "query_id", id, "err", res.broken)
		c.drop(ch, 0)
		return res.stats, newError(CodeEngineCrashed, "the query engine process failed while running the query (it may have crashed DuckDB); the next query starts a new engine")
	}
	if res.qerr != nil && res.qerr.Code == CodeEngineError {
		c.drop(ch, c.cfg.InterruptGrace)
	}
	if res.writeErr != nil {
		return res.stats, fmt.Errorf("write query result: %w", res.writeErr)
	}
	if res.qerr != nil {
		return res.stats, res.qerr
	}
	return res.stats, nil
}

// kill ends the engine at once and waits for the exchange to return, so
// nothing writes to the caller's writer after Query returns.
func (c *Client) kill(ch *child, results <-chan exchangeResult, reason string) exchangeResult {
	slog.Warn("killing query engine", "pid", ch.pid, "reason", reason)
	c.drop(ch, 0)
	return <-results
}

// drop stops ch and clears it from the client, so the next query starts a
// new engine.
func (c *Client) drop(ch *child, grace time.Duration) {
	c.mu.Lock()
	if c.child == ch {
		c.child = nil
	}
	c.mu.Unlock()
	ch.stop(grace)
}

// Close ends the engine: it closes the engine's input, waits up to
// InterruptGrace and then kills it, and waits for the process. A query still
// running fails with engine_crashed. Close is safe to call twice.
func (c *Client) Close() error {
	c.mu.Lock()
	c.closed = true
	ch := c.child
	c.child = nil
	c.mu.Unlock()

	if ch != nil {
		ch.stop(c.cfg.InterruptGrace)
	}
	return nil
}

// exchangeResult is the outcome of one query exchange. broken is set when
// the engine broke the protocol or its output ended, and the engine must then
// be dropped.
type exchangeResult struct {
	stats    Stats
	qerr     *Error
	writeErr error
	broken   error
}

// exchange sends the query frame and reads the response frames. It checks every
// frame, because a query that exploits a DuckDB bug controls the engine:
// the ids must match, rows must be JSON objects within the caps, and the
// done frame's counts must match the rows received.
func (c *Client) exchange(ch *child, id uint64, sql string, out io.Writer) exchangeResult {
	var res exchangeResult
	if err := ch.send(request{Type: frameQuery, ID: id, SQL: sql}); err != nil {
		res.broken = fmt.Errorf("send query: %w", err)
		return res
	}

	var received Stats
	for {
		line, err := ch.frames.next()
		if err != nil {
			res.broken = fmt.Errorf("read query result: %w", err)
			return res
		}
		var resp response
		if err := json.Unmarshal(line, &resp); err != nil {
			res.broken = fmt.Errorf("decode query engine frame: %w", err)
			return res
		}
		if resp.ID != id {
			res.broken = fmt.Errorf("query engine sent a frame for query %d, expected %d", resp.ID, id)
			return res
		}

		switch resp.Type {
		case frameRow:
			if err := c.checkRow(resp.Row, received); err != nil {
				res.broken = err
				return res
			}
			received.Rows++
			received.Bytes += int64(len(resp.Row)) + 1
			c.deliver(ch, id, out, resp.Row, &res)

		case frameDone:
			if resp.Rows != received.Rows || resp.Bytes != received.Bytes {
				res.broken = fmt.Errorf("query engine reported %d rows and %d bytes, but sent %d rows and %d bytes", resp.Rows, resp.Bytes, received.Rows, received.Bytes)
				return res
			}
			res.qerr = resp.Error
			return res

		default:
			res.broken = fmt.Errorf("query engine sent an unexpected %q frame", resp.Type)
			return res
		}
	}
}

func (c *Client) checkRow(row json.RawMessage, received Stats) error {
	if len(row) == 0 || row[0] != '{' {
		return errors.New("query engine sent a row that is not a JSON object")
	}
	if received.Rows+1 > c.cfg.MaxRows || received.Bytes+int64(len(row))+1 > c.cfg.MaxBytes {
		return fmt.Errorf("query engine sent more than %d rows or %d bytes", c.cfg.MaxRows, c.cfg.MaxBytes)
	}
	return nil
}

// deliver writes one row to out. After the first failed write it cancels
// the query and discards the remaining rows.
func (c *Client) deliver(ch *child, id uint64, out io.Writer, row json.RawMessage, res *exchangeResult) {
	if res.writeErr != nil {
		return
	}
	if _, err := out.Write(append(row, '\n')); err != nil {
		res.writeErr = err
		go func() { _ = ch.send(request{Type: frameCancel, ID: id}) }()
		return
	}
	res.stats.Rows++
	res.stats.Bytes += int64(len(row)) + 1
}
