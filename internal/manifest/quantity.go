package manifest

import (
	"fmt"
	"math"
	"regexp"
	"strconv"
)

var (
	bytesPattern   = regexp.MustCompile(`^([0-9]+)(Ki|Mi|Gi|K|M|G)?$`)
	coresPattern   = regexp.MustCompile(`^([0-9]+)(?:\.([0-9]+))?$`)
	milliPattern   = regexp.MustCompile(`^([0-9]+)m$`)
	byteMultiplier = map[string]int64{
		"":   1,
		"Ki": 1 << 10,
		"Mi": 1 << 20,
		"Gi": 1 << 30,
		"K":  1000,
		"M":  1000 * 1000,
		"G":  1000 * 1000 * 1000,
	}
)

// ParseBytes parses a byte size: an integer with an optional unit Ki, Mi or
// Gi (powers of 1024) or K, M or G (powers of 1000). A bare integer is a
// number of bytes. Signs, fractions, spaces and other units are rejected, and
// so is a size that overflows int64. Zero is accepted; callers check their own
// minimum.
func ParseBytes(s string) (int64, error) {
	n, problem := parseBytes(s)
	if problem != "" {
		return 0, fmt.Errorf("%w: %s", ErrInvalidQuantity, problem)
	}
	return n, nil
}

// parseBytes returns the size, or a message saying what is wrong with s.
func parseBytes(s string) (int64, string) {
	m := bytesPattern.FindStringSubmatch(s)
	if m == nil {
		return 0, fmt.Sprintf("%q is not a byte size: use a whole number with an optional unit Ki, Mi or Gi (powers of 1024) or K, M or G (powers of 1000), such as 256Mi", s)
	}

	n, err := strconv.ParseInt(m[1], 10, 64)
	mult := byteMultiplier[m[2]]
	if err != nil || n > math.MaxInt64/mult {
		return 0, fmt.Sprintf("%q is too large for a byte size", s)
	}
	return n * mult, ""
}

// ParseCPU parses a CPU quota in cores: a decimal number of cores ("0.5",
// "1", "1.25") or a whole number of millicores ("250m"). The precision is one
// millicore, so at most three decimals are accepted. Zero is accepted;
// callers check their own minimum.
func ParseCPU(s string) (float64, error) {
	millis, problem := parseMillicores(s)
	if problem != "" {
		return 0, fmt.Errorf("%w: %s", ErrInvalidQuantity, problem)
	}
	return float64(millis) / 1000, nil
}

// parseMillicores returns the quota in millicores, or a message saying what
// is wrong with s.
func parseMillicores(s string) (int64, string) {
	const tooLarge = int64(1) << 40 // far above any machine; keeps the arithmetic exact

	if m := milliPattern.FindStringSubmatch(s); m != nil {
		n, err := strconv.ParseInt(m[1], 10, 64)
		if err != nil || n > tooLarge {
			return 0, fmt.Sprintf("%q is too large for a CPU quota", s)
		}
		return n, ""
	}

	m := coresPattern.FindStringSubmatch(s)
	if m == nil {
		return 0, fmt.Sprintf("%q is not a CPU quota: use cores such as \"0.5\" or \"2\", or millicores such as \"250m\"", s)
	}
	if len(m[2]) > 3 {
		return 0, fmt.Sprintf("CPU quota %q has more than three decimals: round it to whole millicores, such as \"0.125\" or \"125m\"", s)
	}

	whole, err := strconv.ParseInt(m[1], 10, 64)
	if err != nil || whole > tooLarge/1000 {
		return 0, fmt.Sprintf("%q is too large for a CPU quota", s)
	}
	fraction := int64(0)
	if m[2] != "" {
		// Pad "5" to "500" so the digits read as millicores.
		digits := m[2] + "000"[len(m[2]):]
		fraction, _ = strconv.ParseInt(digits, 10, 64)
	}
	return whole*1000 + fraction, ""
}

// FormatBytes formats n in the largest binary unit that divides it exactly
// (2Gi, 256Mi, 4Ki) and otherwise as a bare number of bytes, so the result
// parses back with ParseBytes.
func FormatBytes(n int64) string {
	units := []struct {
		suffix string
		size   int64
	}{{"Gi", 1 << 30}, {"Mi", 1 << 20}, {"Ki", 1 << 10}}

	for _, u := range units {
		if n != 0 && n%u.size == 0 {
			return strconv.FormatInt(n/u.size, 10) + u.suffix
		}
	}
	return strconv.FormatInt(n, 10)
}

// FormatCPU formats a number of cores as a decimal ("0.5", "2").
func FormatCPU(cores float64) string {
	return strconv.FormatFloat(cores, 'f', -1, 64)
}
