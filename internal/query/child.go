package query

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"sync"
	"time"
)

const (
	// startTimeout bounds engine setup (process start, views, lockdown).
	startTimeout = 30 * time.Second
	// maxLoggedLines caps the engine's stderr lines logged per process; the
	// rest are counted.
	maxLoggedLines = 200
	// maxMessageFrame is the room for a done frame's error message beyond
	// the row limit.
	maxMessageFrame = 1 << 20
)

// child is one running engine process.
type child struct {
	cmd    *exec.Cmd
	pid    int
	stdin  *os.File
	stdout *os.File
	frames *frameReader

	writeMu sync.Mutex

	stderrDone chan struct{}
	stopOnce   sync.Once

	// exited is closed when the process has been reaped; waitErr is its
	// exit status.
	exited  chan struct{}
	waitErr error
}

// startChild runs exe with an empty environment, sends cfg and waits for
// the ready frame.
func startChild(ctx context.Context, cfg Config, exe string, args []string) (*child, error) {
	ch, err := spawn(cfg, exe, args)
	if err != nil {
		return nil, err
	}

	if err := ch.send(request{Type: frameConfig, Config: &cfg}); err != nil {
		ch.stop(0)
		return nil, fmt.Errorf("send config to query engine (pid %d): %w", ch.pid, err)
	}

	ready := make(chan error, 1)
	go func() { ready <- ch.awaitReady() }()

	ctx, cancel := context.WithTimeout(ctx, startTimeout)
	defer cancel()
	select {
	case err := <-ready:
		if err != nil {
			// The engine exits by itself after a failed setup.
			ch.stop(cfg.InterruptGrace)
			return nil, err
		}
		return ch, nil
	case <-ctx.Done():
		ch.stop(0)
		<-ready
		return nil, fmt.Errorf("query engine (pid %d) did not become ready: %w", ch.pid, ctx.Err())
	}
}

func spawn(cfg Config, exe string, args []string) (*child, error) {
	stdinR, stdinW, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("create query engine pipe: %w", err)
	}
	stdoutR, stdoutW, err := os.Pipe()
	if err != nil {
		closeAll(stdinR, stdinW)
		return nil, fmt.Errorf("create query engine pipe: %w", err)
	}
	stderrR, stderrW, err := os.Pipe()
	if err != nil {
		closeAll(stdinR, stdinW, stdoutR, stdoutW)
		return nil, fmt.Errorf("create query engine pipe: %w", err)
	}

	cmd := exec.Command(exe, args...)
	// The engine inherits no environment: no tokens, no secrets, no proxy
	// settings, nothing for DuckDB to pick up.
	cmd.Env = []string{}
	cmd.Dir = "/"
	cmd.Stdin, cmd.Stdout, cmd.Stderr = stdinR, stdoutW, stderrW
	cmd.SysProcAttr = childSysProcAttr()

	startErr := cmd.Start()
	// The child holds its own copies now; closing ours lets reads end with
	// EOF when it exits.
	closeAll(stdinR, stdoutW, stderrW)
	if startErr != nil {
		closeAll(stdinW, stdoutR, stderrR)
		return nil, fmt.Errorf("start query engine %q: %w", exe, startErr)
	}

	ch := &child{
		cmd:        cmd,
		pid:        cmd.Process.Pid,
		stdin:      stdinW,
		stdout:     stdoutR,
		frames:     newFrameReader(stdoutR, int(cfg.MaxBytes)+maxMessageFrame),
		stderrDone: make(chan struct{}),
		exited:     make(chan struct{}),
	}
	go func() {
		ch.waitErr = cmd.Wait()
		close(ch.exited)
	}()
	go logStderr(stderrR, ch.pid, ch.stderrDone)
	slog.Info("query engine started", "pid", ch.pid)
	return ch, nil
}

func (ch *child) awaitReady() error {
	line, err := ch.frames.next()
	if err != nil {
		return fmt.Errorf("query engine (pid %d) exited during setup; its log lines are above: %w", ch.pid, err)
	}
	var resp response
	if err := json.Unmarshal(line, &resp); err != nil || resp.Type != frameReady {
		return fmt.Errorf("query engine (pid %d) sent an invalid ready frame", ch.pid)
	}
	if resp.Error != nil {
		return resp.Error
	}
	return nil
}

// hasExited reports whether the process is gone (crashed, killed from
// outside or ended after a fatal error).
func (ch *child) hasExited() bool {
	select {
	case <-ch.exited:
		return true
	default:
		return false
	}
}

// send writes one request frame. Writes are serialised because a cancel
// frame may be sent while the query frame is still being written.
func (ch *child) send(req request) error {
	ch.writeMu.Lock()
	defer ch.writeMu.Unlock()
	return writeFrame(ch.stdin, req)
}

// stop ends the engine: it closes stdin, which makes Serve return, waits up
// to grace for the process to exit and kills it by PID after that. It is
// safe to call more than once and from several goroutines; every call
// returns after the process has been reaped.
func (ch *child) stop(grace time.Duration) {
	ch.stopOnce.Do(func() {
		_ = ch.stdin.Close()

		timer := time.NewTimer(grace)
		defer timer.Stop()
		select {
		case <-ch.exited:
		case <-timer.C:
			if ch.hasExited() {
				break
			}
			// cmd.Process.Kill signals through a pidfd on Linux, so a
			// reused PID cannot be hit.
			_ = ch.cmd.Process.Kill()
			<-ch.exited
			slog.Warn("query engine killed", "pid", ch.pid, "grace", grace)
		}

		// Unblocks a reader still waiting on a frame.
		_ = ch.stdout.Close()
		<-ch.stderrDone
		slog.Info("query engine stopped", "pid", ch.pid, "exit", exitText(ch.waitErr))
	})
}

func exitText(err error) string {
	if err == nil {
		return "exit status 0"
	}
	var exitErr *exec.ExitError
	if errors.As(err, &exitErr) {
		return exitErr.String()
	}
	return err.Error()
}

// logStderr logs the engine's stderr lines, at most maxLoggedLines of them,
// and always drains the pipe so the engine never blocks on a full one.
func logStderr(r *os.File, pid int, done chan<- struct{}) {
	defer close(done)
	defer r.Close()

	lines := 0
	scanner := bufio.NewScanner(r)
	scanner.Buffer(make([]byte, 4096), 64<<10)
	for scanner.Scan() {
		lines++
		if lines <= maxLoggedLines {
			slog.Info("query engine output", "pid", pid, "line", scanner.Text())
		}
	}
	_, _ = io.Copy(io.Discard, r)

	if lines > maxLoggedLines {
		slog.Warn("query engine output lines dropped", "pid", pid, "dropped", lines-maxLoggedLines)
	}
}

func closeAll(files ...*os.File) {
	for _, f := range files {
		_ = f.Close()
	}
}
