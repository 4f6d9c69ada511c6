package worker

import (
	"fmt"
	"io"
	"sync"
)

// cappedLog writes the job's stdout and stderr to the run's log file and to
// a live stream, up to max bytes. Past the cap it drops the rest, counts it,
// and writes one marker line so the truncation is never silent. Writes never
// fail towards the job's pipe copier, so a job cannot stall moat by
// flooding output, and moat's memory does not grow with it.
type cappedLog struct {
	mu        sync.Mutex
	file      io.Writer
	live      io.Writer
	max       int64
	written   int64
	dropped   int64
	truncated bool
}

func newCappedLog(file, live io.Writer, max int64) *cappedLog {
	return &cappedLog{file: file, live: live, max: max}
}

func (c *cappedLog) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()

	n := len(p)
	if n == 0 {
		// An empty write drops nothing, so it must not mark the log truncated.
		return 0, nil
	}
	room := c.max - c.written
	if room <= 0 {
		c.dropped += int64(n)
		c.markTruncated()
		return n, nil
	}

	chunk := p
	if int64(len(chunk)) > room {
		chunk = chunk[:room]
	}
	c.emit(chunk)
	c.written += int64(len(chunk))

	if len(chunk) < n {
		c.dropped += int64(n - len(chunk))
		c.markTruncated()
	}
	return n, nil
}

// markTruncated writes the marker once; the caller holds mu.
func (c *cappedLog) markTruncated() {
	if c.truncated {
		return
	}
	c.truncated = true
	c.emit([]byte(fmt.Sprintf("\n[moat: log truncated at %d bytes; further output is dropped]\n", c.max)))
}

func (c *cappedLog) emit(p []byte) {
	if c.file != nil {
		_, _ = c.file.Write(p)
	}
	if c.live != nil {
		_, _ = c.live.Write(p)
	}
}

// stats returns the bytes kept, the bytes dropped and whether the log was
// truncated.
func (c *cappedLog) stats() (written, dropped int64, truncated bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.written, c.dropped, c.truncated
}
