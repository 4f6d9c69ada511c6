package query

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
)

// testOnlyIgnoreInterrupts makes the engine run queries with a context that
// is never cancelled, like a statement that ignores interrupts, so tests can
// prove the client kills such an engine. Only this package's tests set it;
// nothing in moat's CLI can.
var testOnlyIgnoreInterrupts bool

// Serve runs the engine side: it reads a config frame and then query and
// cancel frames from r, and writes responses to w. It returns nil when r
// reaches its end, and an error when the config is invalid, the engine
// cannot be set up, the client breaks the protocol, or DuckDB reports a
// fatal error (after the done frame of that query). The moat binary runs it
// in the child process started by Start.
func Serve(ctx context.Context, r io.Reader, w io.Writer) error {
	if testOnlyIgnoreInterrupts {
		slog.Warn("query engine ignores interrupts: test-only setting, never use in production")
	}

	s := &server{out: bufio.NewWriterSize(w, 64<<10)}
	requests := make(chan request)
	readErr := make(chan error, 1)
	stopped := make(chan struct{})
	defer close(stopped)
	go s.readRequests(r, requests, readErr, stopped)

	e, err := s.setUp(ctx, requests)
	if err != nil {
		return err
	}
	defer e.close()

	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case req, ok := <-requests:
			if !ok {
				return <-readErr
			}
			if err := s.handle(ctx, e, req); err != nil {
				return err
			}
		}
	}
}

type server struct {
	out *bufio.Writer

	mu       sync.Mutex
	activeID uint64
	cancel   context.CancelCauseFunc
	// cancelledID is the id of the last cancel frame, so a cancel that
	// overtakes its query still stops it.
	cancelledID uint64
}

// readRequests decodes request frames. Cancel frames act at once, because
// the main loop is busy with the query they cancel; other frames go to the
// main loop in order. It closes requests at the end of input.
func (s *server) readRequests(r io.Reader, requests chan<- request, readErr chan<- error, stopped <-chan struct{}) {
	defer close(requests)
	frames := newFrameReader(r, maxRequestFrame)
	for {
		line, err := frames.next()
		if errors.Is(err, io.EOF) {
			s.cancelActive(0)
			readErr <- nil
			return
		}
		if err != nil {
			s.cancelActive(0)
			readErr <- fmt.Errorf("read query engine request: %w", err)
			return
		}

		var req request
		if err := json.Unmarshal(line, &req); err != nil {
			s.cancelActive(0)
			readErr <- fmt.Errorf("decode query engine request: %w", err)
			return
		}
		if req.Type == frameCancel {
			s.cancelActive(req.ID)
			continue
		}
		select {
		case requests <- req:
		case <-stopped:
			return
		}
	}
}

// cancelActive cancels the running query if its id is id, or whatever runs
// when id is 0.
func (s *server) cancelActive(id uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cancelledID = id
	if s.cancel != nil && (id == 0 || id == s.activeID) {
		s.cancel(errCancelRequested)
	}
}

// setUp waits for the config frame, opens the locked-down engine and sends
// a ready frame.
func (s *server) setUp(ctx context.Context, requests <-chan request) (*engine, error) {
	var req request
	select {
	case <-ctx.Done():
		return nil, ctx.Err()
	case r, ok := <-requests:
		if !ok {
			return nil, errors.New("query engine input ended before the config frame")
		}
		req = r
	}
	if req.Type != frameConfig || req.Config == nil {
		return nil, fmt.Errorf("query engine expected a config frame first, got %q", req.Type)
	}

	cfg := req.Config.withDefaults()
	err := cfg.validate()
	var e *engine
	if err == nil {
		e, err = openEngine(ctx, cfg)
	}
	if err != nil {
		_ = s.send(response{Type: frameReady, Error: newError(CodeEngineError, "%s", err)})
		return nil, err
	}

	if err := s.send(response{Type: frameReady}); err != nil {
		e.close()
		return nil, err
	}
	slog.Info("query engine ready", "views", len(cfg.Views), "memory_bytes", cfg.MemoryBytes, "threads", cfg.Threads)
	return e, nil
}

func (s *server) handle(ctx context.Context, e *engine, req request) error {
	if req.Type != frameQuery {
		return fmt.Errorf("query engine got an unexpected %q frame", req.Type)
	}

	qctx, cancel := s.startQuery(ctx, req.ID, e.cfg)
	defer cancel(nil)
	defer s.endQuery()

	stats, qerr := e.run(qctx, req.SQL, func(row []byte) error {
		return appendRowFrame(s.out, req.ID, row)
	})

	if err := s.send(response{Type: frameDone, ID: req.ID, Rows: stats.Rows, Bytes: stats.Bytes, Error: qerr}); err != nil {
		return err
	}
	if qerr != nil && qerr.Code == CodeEngineError {
		// DuckDB may be in an invalid state after a fatal or internal
		// error; exit so the client starts a fresh engine.
		return fmt.Errorf("query engine stops after an engine error: %s", qerr.Message)
	}
	return nil
}

// startQuery returns the query's context: it ends at the statement timeout
// or when a cancel frame arrives.
func (s *server) startQuery(ctx context.Context, id uint64, cfg Config) (context.Context, context.CancelCauseFunc) {
	qctx, cancel := context.WithCancelCause(ctx)
	qctx, stop := context.WithTimeout(qctx, cfg.StatementTimeout)
	// cancel goes first so that the query context keeps the cancel
	// frame's cause; stop alone would record context.Canceled.
	cancelBoth := func(cause error) {
		cancel(cause)
		stop()
	}

	s.mu.Lock()
	s.activeID, s.cancel = id, cancelBoth
	if s.cancelledID == id {
		cancelBoth(errCancelRequested)
	}
	s.mu.Unlock()

	if testOnlyIgnoreInterrupts {
		return context.WithoutCancel(qctx), cancelBoth
	}
	return qctx, cancelBoth
}

func (s *server) endQuery() {
	s.mu.Lock()
	s.activeID, s.cancel = 0, nil
	s.mu.Unlock()
}

func (s *server) send(resp response) error {
	if err := writeFrame(s.out, resp); err != nil {
		return err
	}
	return s.out.Flush()
}
