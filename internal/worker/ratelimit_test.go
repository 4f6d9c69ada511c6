package worker

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"
)

// fakeClock is a settable time source for the limiter.
type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time { return c.t }

func TestLineRateLimitDropsBurstOverflow(t *testing.T) {
	clock := &fakeClock{t: time.Unix(0, 0)}
	var out bytes.Buffer
	l := newLineRateLimit(&out, 10, clock.now) // burst 20 lines

	for i := 0; i < 50; i++ {
		fmt.Fprintf(l, "line %d\n", i)
	}
	dropped := l.close()

	if dropped != 30 {
		t.Fatalf("dropped = %d, want 30 of 50 lines over a burst of 20", dropped)
	}
	text := out.String()
	if strings.Count(text, "line ") != 20 {
		t.Errorf("kept %d lines, want 20:\n%s", strings.Count(text, "line "), text)
	}
	if !strings.HasSuffix(text, "[moat: dropped 30 lines: output exceeded 10 lines per second]\n") {
		t.Errorf("output does not end with the drop marker:\n%s", text)
	}
}

func TestLineRateLimitRefillsOverTime(t *testing.T) {
	clock := &fakeClock{t: time.Unix(0, 0)}
	var out bytes.Buffer
	l := newLineRateLimit(&out, 10, clock.now)

	for i := 0; i < 25; i++ {
		fmt.Fprintf(l, "a%d\n", i)
	}
	clock.t = clock.t.Add(time.Second) // 10 new tokens
	for i := 0; i < 10; i++ {
		fmt.Fprintf(l, "b%d\n", i)
	}
	dropped := l.close()

	if dropped != 5 {
		t.Fatalf("dropped = %d, want 5", dropped)
	}
	text := out.String()
	marker := "[moat: dropped 5 lines: output exceeded 10 lines per second]\nb0\n"
	if !strings.Contains(text, marker) {
		t.Errorf("the marker does not come right before the first line after the gap:\n%s", text)
	}
	if strings.Count(text, "\nb") != 10 {
		t.Errorf("not all 10 lines after the refill passed:\n%s", text)
	}
}

func TestLineRateLimitKeepsSplitLinesWhole(t *testing.T) {
	clock := &fakeClock{t: time.Unix(0, 0)}
	var out bytes.Buffer
	l := newLineRateLimit(&out, 1, clock.now) // burst 2 lines

	// A line written in pieces is one line: it passes or drops whole.
	for _, piece := range []string{"fir", "st\nsec", "ond\nthi", "rd is dropped\nfo", "urth too\n"} {
		if n, err := l.Write([]byte(piece)); n != len(piece) || err != nil {
			t.Fatalf("Write(%q) = %d, %v", piece, n, err)
		}
	}
	l.close()

	want := "first\nsecond\n[moat: dropped 2 lines: output exceeded 1 lines per second]\n"
	if out.String() != want {
		t.Errorf("output = %q, want %q", out.String(), want)
	}
}
