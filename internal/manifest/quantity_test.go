package manifest

import (
	"errors"
	"math"
	"strings"
	"testing"
	"time"
)

func TestParseBytes(t *testing.T) {
	cases := map[string]int64{
		"0":     0,
		"1":     1,
		"4096":  4096,
		"1Ki":   1024,
		"256Mi": 256 << 20,
		"2Gi":   2 << 30,
		"1K":    1000,
		"5M":    5_000_000,
		"3G":    3_000_000_000,
	}

	for in, want := range cases {
		got, err := ParseBytes(in)
		if err != nil {
			t.Errorf("ParseBytes(%q): %v", in, err)
			continue
		}
		if got != want {
			t.Errorf("ParseBytes(%q) = %d, want %d", in, got, want)
		}
	}
}

func TestParseBytesRejects(t *testing.T) {
	for _, in := range []string{"", "-1", "+1", "1.5Gi", "1 Gi", "1gi", "1Ti", "1B", "Gi", "0x10", "8589934592Gi", "99999999999999999999"} {
		_, err := ParseBytes(in)
		if !errors.Is(err, ErrInvalidQuantity) {
			t.Errorf("ParseBytes(%q) error = %v, want ErrInvalidQuantity", in, err)
		}
	}
}

func TestParseBytesLargestValue(t *testing.T) {
	got, err := ParseBytes("8589934591Gi")
	if err != nil {
		t.Fatalf("ParseBytes: %v", err)
	}
	if got != 8589934591<<30 {
		t.Errorf("ParseBytes = %d, want %d", got, int64(8589934591)<<30)
	}
}

func TestParseCPU(t *testing.T) {
	cases := map[string]float64{
		"0":     0,
		"1":     1,
		"0.5":   0.5,
		"1.25":  1.25,
		"0.001": 0.001,
		"250m":  0.25,
		"1500m": 1.5,
		"10m":   0.01,
	}

	for in, want := range cases {
		got, err := ParseCPU(in)
		if err != nil {
			t.Errorf("ParseCPU(%q): %v", in, err)
			continue
		}
		if got != want {
			t.Errorf("ParseCPU(%q) = %v, want %v", in, got, want)
		}
	}
}

func TestParseCPURejects(t *testing.T) {
	for _, in := range []string{"", "-1", ".5", "1.", "0.0001", "1e3", "NaN", "Inf", "0.5m", "m", "1 m", "99999999999999999999"} {
		_, err := ParseCPU(in)
		if !errors.Is(err, ErrInvalidQuantity) {
			t.Errorf("ParseCPU(%q) error = %v, want ErrInvalidQuantity", in, err)
		}
	}
}

func TestFormatBytesRoundTrips(t *testing.T) {
	cases := map[int64]string{0: "0", 1: "1", 1024: "1Ki", 1536: "1536", 256 << 20: "256Mi", 2 << 30: "2Gi", 1000: "1000"}

	for n, want := range cases {
		got := FormatBytes(n)
		if got != want {
			t.Errorf("FormatBytes(%d) = %q, want %q", n, got, want)
		}
		back, err := ParseBytes(got)
		if err != nil || back != n {
			t.Errorf("ParseBytes(FormatBytes(%d)) = %d, %v", n, back, err)
		}
	}
}

func TestMaximumsValidate(t *testing.T) {
	if err := DefaultMaximums().Validate(); err != nil {
		t.Fatalf("DefaultMaximums().Validate() = %v", err)
	}

	cases := []struct {
		name   string
		change func(*Maximums)
		want   string
	}{
		{"zero cpu", func(m *Maximums) { m.CPU = 0 }, "max_cpu 0 is below the minimum 0.01 cores"},
		{"nan cpu", func(m *Maximums) { m.CPU = math.NaN() }, "max_cpu NaN"},
		{"small memory", func(m *Maximums) { m.MemoryBytes = 1 << 20 }, "max_memory 1Mi is below the minimum 16Mi"},
		{"zero pids", func(m *Maximums) { m.Pids = 0 }, "max_pids 0 is below the minimum 1"},
		{"negative tmp", func(m *Maximums) { m.TmpBytes = -1 }, "max_tmp -1 is not positive"},
		{"tmp equals memory", func(m *Maximums) { m.TmpBytes = m.MemoryBytes }, "max_tmp 2Gi is not below max_memory 2Gi"},
		{"short timeout", func(m *Maximums) { m.Timeout = time.Millisecond }, "max_timeout 1ms is below the minimum 1s"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := DefaultMaximums()
			tc.change(&m)

			err := m.Validate()

			if !errors.Is(err, ErrInvalidMaximums) {
				t.Fatalf("error = %v, want ErrInvalidMaximums", err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error = %q, want it to contain %q", err, tc.want)
			}
		})
	}
}

func TestDefaultResourcesWithinDefaultMaximums(t *testing.T) {
	d, m := DefaultResources(), DefaultMaximums()

	if d.CPU > m.CPU || d.MemoryBytes > m.MemoryBytes || d.Pids > m.Pids || d.TmpBytes > m.TmpBytes || d.Timeout > m.Timeout {
		t.Errorf("DefaultResources %+v exceed DefaultMaximums %+v", d, m)
	}
	if d.TmpBytes >= d.MemoryBytes {
		t.Errorf("default tmp %d is not below default memory %d", d.TmpBytes, d.MemoryBytes)
	}
}
