package worker

import (
	"bytes"
	"fmt"
	"io"
	"sync"
	"time"
)

// lineRateLimit passes whole output lines to next at up to rate lines per
// second, with bursts of up to burst lines. A line that starts when no
// token is left is dropped with all its bytes; the next line that passes is
// preceded by a marker that says how many lines were dropped, so the gap is
// never silent. It keeps no line in memory.
type lineRateLimit struct {
	mu     sync.Mutex
	next   io.Writer
	rate   float64
	burst  float64
	tokens float64
	last   time.Time
	now    func() time.Time

	midLine  bool // the current line has started
	dropping bool // the current line is being dropped
	pending  int64
	dropped  int64
}

func newLineRateLimit(next io.Writer, linesPerSecond int, now func() time.Time) *lineRateLimit {
	rate := float64(linesPerSecond)
	if now == nil {
		now = time.Now
	}
	return &lineRateLimit{next: next, rate: rate, burst: 2 * rate, tokens: 2 * rate, last: now(), now: now}
}

// Write never fails and always consumes p, so the job's output pipes keep
// draining whatever the limiter drops.
func (l *lineRateLimit) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()

	n := len(p)
	for len(p) > 0 {
		segment := p
		if i := bytes.IndexByte(p, '\n'); i >= 0 {
			segment = p[:i+1]
		}
		if !l.midLine {
			l.startLine()
		}
		if !l.dropping {
			_, _ = l.next.Write(segment)
		}
		l.midLine = segment[len(segment)-1] != '\n'
		p = p[len(segment):]
	}
	return n, nil
}

// startLine decides whether the line that starts now passes; the caller
// holds mu.
func (l *lineRateLimit) startLine() {
	now := l.now()
	l.tokens += now.Sub(l.last).Seconds() * l.rate
	if l.tokens > l.burst {
		l.tokens = l.burst
	}
	l.last = now

	if l.tokens < 1 {
		l.dropping = true
		l.pending++
		l.dropped++
		return
	}
	l.tokens--
	l.dropping = false
	l.flushMarker()
}

// flushMarker reports dropped lines; the caller holds mu.
func (l *lineRateLimit) flushMarker() {
	if l.pending == 0 {
		return
	}
	prefix := ""
	if l.midLine {
		prefix = "\n"
	}
	marker := fmt.Sprintf("%s[moat: dropped %d lines: output exceeded %d lines per second]\n", prefix, l.pending, int64(l.rate))
	_, _ = l.next.Write([]byte(marker))
	l.pending = 0
}

// close reports lines dropped since the last marker and returns the total
// number of dropped lines.
func (l *lineRateLimit) close() int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.flushMarker()
	return l.dropped
}
