package config

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/moatdev/moat/internal/manifest"
)

func setString(dst *string, v string) {
	if v != "" {
		*dst = v
	}
}

func setInt(dst *int, v *int) {
	if v != nil {
		*dst = *v
	}
}

func setInt64(dst *int64, v *int64) {
	if v != nil {
		*dst = *v
	}
}

func setBytes(dst *int64, v string) error {
	if v == "" {
		return nil
	}
	n, err := manifest.ParseBytes(v)
	if err != nil {
		return err
	}
	*dst = n
	return nil
}

func setCPU(dst *float64, v string) error {
	if v == "" {
		return nil
	}
	n, err := manifest.ParseCPU(v)
	if err != nil {
		return err
	}
	*dst = n
	return nil
}

func setDuration(dst *time.Duration, v string) error {
	if v == "" {
		return nil
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		return fmt.Errorf("%q is not a duration: use for example 30s or 15m", v)
	}
	*dst = d
	return nil
}

// validateHostPort accepts an exact "host:port" with a numeric port; the
// egress allowlist never matches a whole host or a port range.
func validateHostPort(hp string) error {
	host, port, err := net.SplitHostPort(hp)
	if err != nil || host == "" {
		return fmt.Errorf("%q is not host:port: write for example 127.0.0.1:18099", hp)
	}
	n, err := strconv.Atoi(port)
	if err != nil || n < 1 || n > 65535 {
		return fmt.Errorf("%q has an invalid port: use a number from 1 to 65535", hp)
	}
	return nil
}

// defaultSharedData finds the platform's sample data: $MOAT_SHARED_DATA,
// else ../shared/data/ethereum beside the working directory, as in a
// checkout with the shared folder next to it.
func defaultSharedData() string {
	if v := os.Getenv("MOAT_SHARED_DATA"); v != "" {
		return v
	}
	wd, err := os.Getwd()
	if err != nil {
		return ""
	}
	return filepath.Join(filepath.Dir(wd), "shared", "data", "ethereum")
}
