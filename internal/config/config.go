// Package config loads the operator's configuration: where moat keeps its
// data, which principal the CLI acts as, the platform maximums for job
// resources, the gateway and log limits, and the egress allowlist for
// webhook destinations.
//
// The file is <data-dir>/config.yaml and is optional; every setting has a
// safe default. Unknown keys are errors, and the loaded configuration is
// validated as a whole before use.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/moatdev/moat/internal/ids"
	"github.com/moatdev/moat/internal/manifest"
)

// DefaultDataDir is the data directory when neither --data-dir nor
// MOAT_DATA_DIR sets one.
const DefaultDataDir = "/var/lib/moat"

// ErrInvalid is wrapped by every configuration error.
var ErrInvalid = errors.New("invalid configuration")

// Config is the loaded, validated configuration.
type Config struct {
	// DataDir holds the store, datasets, bundles and run logs.
	DataDir string
	// StateDir holds runc state and sandbox work directories; it should be
	// on a tmpfs such as /run.
	StateDir string
	// Principal is the CLI's acting principal when --as is not given.
	Principal string
	// RuncPath is the runc binary; empty means /usr/local/sbin/runc, then
	// PATH.
	RuncPath string
	// SharedData is the directory of the platform's Ethereum sample data.
	SharedData string
	Maximums   manifest.Maximums
	// EgressAllow lists exact host:port destinations that webhook
	// delivery may reach even though they are loopback or private.
	EgressAllow []string
	Gateway     Gateway
	// LogMaxBytes caps one run's log.
	LogMaxBytes int64
	// LogLinesPerSecond caps the rate of a run's output lines; lines
	// beyond it are dropped and counted in a marker line.
	LogLinesPerSecond int
}

// Gateway holds the per-run gateway and query limits.
type Gateway struct {
	MaxQueries      int
	MaxWebhookCalls int
	MaxWebhookBytes int64
	QueryTimeout    time.Duration
	QueryMemory     int64
	QueryThreads    int
	MaxResultRows   int64
	MaxResultBytes  int64
	MaxSpillBytes   int64
	// MaxDenials is how many rejected gateway requests (bad token, denied
	// query, undeclared webhook, ...) a run may make before moat kills it
	// as killed_by_policy.
	MaxDenials int
}

// file is the YAML shape of config.yaml.
type file struct {
	Principal   string   `yaml:"principal"`
	StateDir    string   `yaml:"state_dir"`
	Runc        string   `yaml:"runc"`
	SharedData  string   `yaml:"shared_data"`
	MaxCPU      string   `yaml:"max_cpu"`
	MaxMemory   string   `yaml:"max_memory"`
	MaxPids     *int64   `yaml:"max_pids"`
	MaxTmp      string   `yaml:"max_tmp"`
	MaxTimeout  string   `yaml:"max_timeout"`
	EgressAllow []string `yaml:"egress_allow"`
	LogMax      string   `yaml:"log_max"`
	LogLines    *int     `yaml:"log_lines_per_second"`
	// Integer keys are pointers so an explicit 0 reaches Validate instead
	// of silently keeping the default.
	Gateway struct {
		MaxQueries      *int   `yaml:"max_queries"`
		MaxWebhookCalls *int   `yaml:"max_webhook_calls"`
		MaxWebhookBytes string `yaml:"max_webhook_bytes"`
		QueryTimeout    string `yaml:"query_timeout"`
		QueryMemory     string `yaml:"query_memory"`
		QueryThreads    *int   `yaml:"query_threads"`
		MaxDenials      *int   `yaml:"max_denials"`
		MaxResultRows   *int64 `yaml:"max_result_rows"`
		MaxResultBytes  string `yaml:"max_result_bytes"`
		MaxSpillBytes   string `yaml:"max_spill_bytes"`
	} `yaml:"gateway"`
}

// Default returns the configuration used when config.yaml is absent.
func Default(dataDir string) Config {
	return Config{
		DataDir:    dataDir,
		StateDir:   "/run/moat",
		Principal:  "admin",
		SharedData: defaultSharedData(),
		Maximums:   manifest.DefaultMaximums(),
		Gateway: Gateway{
			MaxQueries:      100,
			MaxWebhookCalls: 20,
			MaxWebhookBytes: 64 << 10,
			QueryTimeout:    10 * time.Second,
			QueryMemory:     256 << 20,
			QueryThreads:    1,
			MaxResultRows:   10000,
			MaxResultBytes:  8 << 20,
			MaxSpillBytes:   256 << 20,
			MaxDenials:      50,
		},
		LogMaxBytes:       1 << 20,
		LogLinesPerSecond: 1000,
	}
}

// Path returns the configuration file of a data directory.
func Path(dataDir string) string { return filepath.Join(dataDir, "config.yaml") }

// Load reads <dataDir>/config.yaml if it exists and returns the validated
// configuration.
func Load(dataDir string) (Config, error) {
	abs, err := filepath.Abs(dataDir)
	if err != nil {
		return Config{}, fmt.Errorf("resolve data directory %q: %w", dataDir, err)
	}
	cfg := Default(abs)

	data, err := os.ReadFile(Path(abs))
	if errors.Is(err, os.ErrNotExist) {
		return cfg, cfg.Validate()
	}
	if err != nil {
		return Config{}, fmt.Errorf("read %q: %w", Path(abs), err)
	}
	if err := cfg.apply(data); err != nil {
		return Config{}, fmt.Errorf("%s: %w", Path(abs), err)
	}
	if err := cfg.Validate(); err != nil {
		return Config{}, fmt.Errorf("%s: %w", Path(abs), err)
	}
	return cfg, nil
}

// apply overlays the settings of a config.yaml on cfg.
func (c *Config) apply(data []byte) error {
	var f file
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("%w: %v: fix the YAML (unknown keys are errors)", ErrInvalid, err)
	}
	if err := rejectMoreDocuments(dec); err != nil {
		return err
	}

	var bad []string
	set := func(key string, fn func() error) {
		if err := fn(); err != nil {
			bad = append(bad, fmt.Sprintf("%s: %v", key, err))
		}
	}
	setString(&c.Principal, f.Principal)
	setString(&c.StateDir, f.StateDir)
	setString(&c.RuncPath, f.Runc)
	setString(&c.SharedData, f.SharedData)
	set("max_cpu", func() error { return setCPU(&c.Maximums.CPU, f.MaxCPU) })
	set("max_memory", func() error { return setBytes(&c.Maximums.MemoryBytes, f.MaxMemory) })
	set("max_tmp", func() error { return setBytes(&c.Maximums.TmpBytes, f.MaxTmp) })
	set("max_timeout", func() error { return setDuration(&c.Maximums.Timeout, f.MaxTimeout) })
	set("log_max", func() error { return setBytes(&c.LogMaxBytes, f.LogMax) })
	setInt64(&c.Maximums.Pids, f.MaxPids)
	setInt(&c.LogLinesPerSecond, f.LogLines)
	if f.EgressAllow != nil {
		c.EgressAllow = f.EgressAllow
	}

	g := f.Gateway
	setInt(&c.Gateway.MaxQueries, g.MaxQueries)
	setInt(&c.Gateway.MaxWebhookCalls, g.MaxWebhookCalls)
	setInt(&c.Gateway.QueryThreads, g.QueryThreads)
	setInt(&c.Gateway.MaxDenials, g.MaxDenials)
	setInt64(&c.Gateway.MaxResultRows, g.MaxResultRows)
	set("gateway.max_webhook_bytes", func() error { return setBytes(&c.Gateway.MaxWebhookBytes, g.MaxWebhookBytes) })
	set("gateway.query_timeout", func() error { return setDuration(&c.Gateway.QueryTimeout, g.QueryTimeout) })
	set("gateway.query_memory", func() error { return setBytes(&c.Gateway.QueryMemory, g.QueryMemory) })
	set("gateway.max_result_bytes", func() error { return setBytes(&c.Gateway.MaxResultBytes, g.MaxResultBytes) })
	set("gateway.max_spill_bytes", func() error { return setBytes(&c.Gateway.MaxSpillBytes, g.MaxSpillBytes) })

	if len(bad) > 0 {
		return fmt.Errorf("%w: %s", ErrInvalid, strings.Join(bad, "; "))
	}
	return nil
}

// rejectMoreDocuments fails if the rest of the stream holds a non-empty
// YAML document. Decode reads only the first one, so the settings and typos
// of a second document would otherwise be ignored without a word.
func rejectMoreDocuments(dec *yaml.Decoder) error {
	for {
		var extra any
		err := dec.Decode(&extra)
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil || extra != nil {
			return fmt.Errorf("%w: the file contains more than one YAML document: keep all settings in the first one (remove the '---' separators)", ErrInvalid)
		}
	}
}

// Validate checks the whole configuration, including how settings combine.
func (c Config) Validate() error {
	var bad []string
	if err := ids.ValidateName("principal", c.Principal); err != nil {
		bad = append(bad, "principal: "+err.Error())
	}
	if !filepath.IsAbs(c.StateDir) {
		bad = append(bad, fmt.Sprintf("state_dir %q is not an absolute path: use for example /run/moat", c.StateDir))
	}
	if err := c.Maximums.Validate(); err != nil {
		bad = append(bad, err.Error())
	}
	for _, hp := range c.EgressAllow {
		if err := validateHostPort(hp); err != nil {
			bad = append(bad, "egress_allow: "+err.Error())
		}
	}
	bad = append(bad, c.Gateway.problems()...)
	if c.LogLinesPerSecond < 1 {
		bad = append(bad, fmt.Sprintf("log_lines_per_second %d is below 1: raise it", c.LogLinesPerSecond))
	}
	if c.LogMaxBytes < 1024 {
		bad = append(bad, fmt.Sprintf("log_max %d is below 1Ki: raise it", c.LogMaxBytes))
	}
	if len(bad) > 0 {
		return fmt.Errorf("%w: %s", ErrInvalid, strings.Join(bad, "; "))
	}
	return nil
}
