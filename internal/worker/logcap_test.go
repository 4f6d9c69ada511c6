package worker

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
)

func marker(max int64) string {
	return fmt.Sprintf("\n[moat: log truncated at %d bytes; further output is dropped]\n", max)
}

// write calls Write and fails unless it accepted all of p without error.
func write(t *testing.T, c *cappedLog, p string) {
	t.Helper()
	n, err := c.Write([]byte(p))
	if err != nil {
		t.Fatalf("Write(%d bytes) error = %v, want nil", len(p), err)
	}
	if n != len(p) {
		t.Fatalf("Write(%d bytes) = %d, want %d", len(p), n, len(p))
	}
}

func wantStats(t *testing.T, c *cappedLog, written, dropped int64, truncated bool) {
	t.Helper()
	w, d, tr := c.stats()
	if w != written {
		t.Errorf("written = %d, want %d", w, written)
	}
	if d != dropped {
		t.Errorf("dropped = %d, want %d", d, dropped)
	}
	if tr != truncated {
		t.Errorf("truncated = %v, want %v", tr, truncated)
	}
}

func TestCappedLogBelowCap(t *testing.T) {
	var file, live bytes.Buffer
	c := newCappedLog(&file, &live, 16)

	write(t, c, "hello ")
	write(t, c, "world")

	if got := file.String(); got != "hello world" {
		t.Errorf("file = %q, want %q", got, "hello world")
	}
	if got := live.String(); got != "hello world" {
		t.Errorf("live = %q, want %q", got, "hello world")
	}
	wantStats(t, c, 11, 0, false)
}

func TestCappedLogExactlyAtCap(t *testing.T) {
	var file bytes.Buffer
	c := newCappedLog(&file, nil, 10)

	write(t, c, "0123456789")

	if got := file.String(); got != "0123456789" {
		t.Errorf("file = %q, want the 10 bytes and no marker", got)
	}
	wantStats(t, c, 10, 0, false)
}

func TestCappedLogSplitsWriteAtCap(t *testing.T) {
	var file, live bytes.Buffer
	c := newCappedLog(&file, &live, 10)

	write(t, c, "0123")
	write(t, c, "456789abcdef") // 6 bytes fit, 6 are dropped

	want := "0123456789" + marker(10)
	if got := file.String(); got != want {
		t.Errorf("file = %q, want %q", got, want)
	}
	if got := live.String(); got != want {
		t.Errorf("live = %q, want %q", got, want)
	}
	wantStats(t, c, 10, 6, true)
}

func TestCappedLogOneMarkerOnly(t *testing.T) {
	var file bytes.Buffer
	c := newCappedLog(&file, nil, 4)

	write(t, c, "abcdef")
	write(t, c, "ghi")
	write(t, c, strings.Repeat("x", 1000))

	want := "abcd" + marker(4)
	if got := file.String(); got != want {
		t.Errorf("file = %q, want %q", got, want)
	}
	if n := strings.Count(file.String(), "[moat: log truncated"); n != 1 {
		t.Errorf("marker appears %d times, want 1", n)
	}
	wantStats(t, c, 4, 2+3+1000, true)
}

func TestCappedLogMarkerOnFirstWritePastCap(t *testing.T) {
	var file bytes.Buffer
	c := newCappedLog(&file, nil, 3)

	write(t, c, "abc")
	wantStats(t, c, 3, 0, false)

	write(t, c, "d")

	if got, want := file.String(), "abc"+marker(3); got != want {
		t.Errorf("file = %q, want %q", got, want)
	}
	wantStats(t, c, 3, 1, true)
}

func TestCappedLogEmptyWriteAtCap(t *testing.T) {
	var file bytes.Buffer
	c := newCappedLog(&file, nil, 3)

	write(t, c, "abc")
	write(t, c, "")

	if got := file.String(); got != "abc" {
		t.Errorf("file = %q, want %q: an empty write drops nothing", got, "abc")
	}
	wantStats(t, c, 3, 0, false)
}

type failingWriter struct{ calls int }

func (f *failingWriter) Write(p []byte) (int, error) {
	f.calls++
	return 0, errors.New("disk full")
}

func TestCappedLogIgnoresWriterErrors(t *testing.T) {
	file := &failingWriter{}
	var live bytes.Buffer
	c := newCappedLog(file, &live, 8)

	write(t, c, "12345")
	write(t, c, "67890")
	write(t, c, "more")

	if got, want := live.String(), "12345678"+marker(8); got != want {
		t.Errorf("live = %q, want %q: a failing file must not stop the live stream", got, want)
	}
	if file.calls != 3 {
		t.Errorf("file writer called %d times, want 3 (two chunks and the marker)", file.calls)
	}
	wantStats(t, c, 8, 2+4, true)
}

func TestCappedLogNilWriters(t *testing.T) {
	c := newCappedLog(nil, nil, 4)

	write(t, c, "abcdef")

	wantStats(t, c, 4, 2, true)
}

// lockedBuffer lets the test read what concurrent writers produced; the
// cappedLog already serialises its own writes.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func TestCappedLogConcurrentWriters(t *testing.T) {
	const (
		max      = 4096
		writers  = 8
		perWrite = 100
		writes   = 50
	)
	var file, live lockedBuffer
	c := newCappedLog(&file, &live, max)

	var wg sync.WaitGroup
	for i := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			chunk := bytes.Repeat([]byte{byte('a' + i)}, perWrite)
			for range writes {
				n, err := c.Write(chunk)
				if err != nil || n != perWrite {
					t.Errorf("Write = %d, %v, want %d, nil", n, err, perWrite)
					return
				}
			}
		}()
	}
	wg.Wait()

	total := int64(writers * perWrite * writes)
	m := marker(max)
	wantStats(t, c, max, total-max, true)

	for name, b := range map[string]*lockedBuffer{"file": &file, "live": &live} {
		got := b.buf.String()
		if len(got) > max+len(m) {
			t.Errorf("%s has %d bytes, want at most %d (cap and marker)", name, len(got), max+len(m))
		}
		if !strings.HasSuffix(got, m) {
			t.Errorf("%s does not end with the marker", name)
		}
		if n := strings.Count(got, "[moat: log truncated"); n != 1 {
			t.Errorf("%s has the marker %d times, want 1", name, n)
		}
		if kept := len(strings.TrimSuffix(got, m)); kept != max {
			t.Errorf("%s kept %d bytes before the marker, want %d", name, kept, max)
		}
	}
}
