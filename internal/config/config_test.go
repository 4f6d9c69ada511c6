package config

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/moatdev/moat/internal/manifest"
)

// fullConfig sets every key of config.yaml to a value that differs from its
// default, so a key that is parsed but not applied fails the test.
const fullConfig = `
principal: ops
state_dir: /run/moat-test
runc: /opt/runc/bin/runc
shared_data: /srv/shared/data/ethereum
max_cpu: "1.5"
max_memory: 3Gi
max_pids: 300
max_tmp: 1Gi
max_timeout: 20m
log_max: 2Mi
log_lines_per_second: 200
egress_allow:
  - 127.0.0.1:18099
  - "[::1]:8443"
  - hooks.example.com:443
gateway:
  max_queries: 50
  max_webhook_calls: 5
  max_webhook_bytes: 32Ki
  query_timeout: 30s
  query_memory: 512Mi
  query_threads: 2
  max_result_rows: 5000
  max_result_bytes: 4Mi
  max_spill_bytes: 1Gi
  max_denials: 10
`

// writeConfig creates a data directory with config.yaml containing content.
func writeConfig(t *testing.T, content string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(Path(dir), []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return dir
}

// wantInvalid fails unless err wraps ErrInvalid and contains every fragment.
func wantInvalid(t *testing.T, err error, fragments ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("Load = nil error, want one containing %q", fragments)
	}
	if !errors.Is(err, ErrInvalid) {
		t.Errorf("error %q does not wrap ErrInvalid", err)
	}
	for _, f := range fragments {
		if !strings.Contains(err.Error(), f) {
			t.Errorf("error %q does not contain %q", err, f)
		}
	}
}

func TestLoadWithoutFile(t *testing.T) {
	t.Setenv("MOAT_SHARED_DATA", "/srv/eth")
	dir := t.TempDir()

	cfg, err := Load(dir)
	if err != nil {
		t.Fatalf("Load(%q) = %v, want the defaults", dir, err)
	}

	want := Config{
		DataDir:    dir,
		StateDir:   "/run/moat",
		Principal:  "admin",
		SharedData: "/srv/eth",
		Maximums: manifest.Maximums{
			CPU: 2, MemoryBytes: 2 << 30, Pids: 256, TmpBytes: 512 << 20, Timeout: 15 * time.Minute,
		},
		Gateway: Gateway{
			MaxQueries: 100, MaxWebhookCalls: 20, MaxWebhookBytes: 64 << 10,
			QueryTimeout: 10 * time.Second, QueryMemory: 256 << 20, QueryThreads: 1,
			MaxResultRows: 10000, MaxResultBytes: 8 << 20, MaxSpillBytes: 256 << 20,
			MaxDenials: 50,
		},
		LogMaxBytes:       1 << 20,
		LogLinesPerSecond: 1000,
	}
	if !reflect.DeepEqual(cfg, want) {
		t.Errorf("Load =\n%+v\nwant\n%+v", cfg, want)
	}
	if err := Default(dir).Validate(); err != nil {
		t.Errorf("Default(%q).Validate() = %v", dir, err)
	}
}

func TestLoadRelativeDataDir(t *testing.T) {
	base := t.TempDir()
	t.Chdir(base)

	cfg, err := Load("data")
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(base, "data"); cfg.DataDir != want {
		t.Errorf("DataDir = %q, want the absolute %q", cfg.DataDir, want)
	}
}

func TestLoadSharedDataBesideWorkingDir(t *testing.T) {
	t.Setenv("MOAT_SHARED_DATA", "")
	base := t.TempDir()
	wd := filepath.Join(base, "main")
	if err := os.Mkdir(wd, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Chdir(wd)

	cfg, err := Load(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(base, "shared", "data", "ethereum"); cfg.SharedData != want {
		t.Errorf("SharedData = %q, want %q", cfg.SharedData, want)
	}
}

func TestLoadEmptyFile(t *testing.T) {
	for name, content := range map[string]string{
		"empty":    "",
		"comments": "# nothing set yet\n",
	} {
		t.Run(name, func(t *testing.T) {
			dir := writeConfig(t, content)

			cfg, err := Load(dir)
			if err != nil {
				t.Fatalf("Load = %v, want the defaults", err)
			}
			if !reflect.DeepEqual(cfg, Default(dir)) {
				t.Errorf("Load =\n%+v\nwant the defaults\n%+v", cfg, Default(dir))
			}
		})
	}
}

func TestLoadFullConfig(t *testing.T) {
	dir := writeConfig(t, fullConfig)

	cfg, err := Load(dir)
	if err != nil {
		t.Fatalf("Load = %v", err)
	}

	want := Config{
		DataDir:    dir,
		StateDir:   "/run/moat-test",
		Principal:  "ops",
		RuncPath:   "/opt/runc/bin/runc",
		SharedData: "/srv/shared/data/ethereum",
		Maximums: manifest.Maximums{
			CPU: 1.5, MemoryBytes: 3 << 30, Pids: 300, TmpBytes: 1 << 30, Timeout: 20 * time.Minute,
		},
		EgressAllow: []string{"127.0.0.1:18099", "[::1]:8443", "hooks.example.com:443"},
		Gateway: Gateway{
			MaxQueries: 50, MaxWebhookCalls: 5, MaxWebhookBytes: 32 << 10,
			QueryTimeout: 30 * time.Second, QueryMemory: 512 << 20, QueryThreads: 2,
			MaxResultRows: 5000, MaxResultBytes: 4 << 20, MaxSpillBytes: 1 << 30,
			MaxDenials: 10,
		},
		LogMaxBytes:       2 << 20,
		LogLinesPerSecond: 200,
	}
	if !reflect.DeepEqual(cfg, want) {
		t.Errorf("Load =\n%+v\nwant\n%+v", cfg, want)
	}
}

func TestLoadEmptyExtraDocuments(t *testing.T) {
	for name, content := range map[string]string{
		"leading separator":  "---\nprincipal: ops\n",
		"trailing separator": "principal: ops\n---\n",
		"document end":       "principal: ops\n...\n",
		"comment after":      "principal: ops\n---\n# nothing here\n",
	} {
		t.Run(name, func(t *testing.T) {
			dir := writeConfig(t, content)

			cfg, err := Load(dir)
			if err != nil {
				t.Fatalf("Load = %v", err)
			}
			if cfg.Principal != "ops" {
				t.Errorf("Principal = %q, want %q", cfg.Principal, "ops")
			}
		})
	}
}

func TestLoadDecimalUnits(t *testing.T) {
	dir := writeConfig(t, "max_cpu: 500m\nmax_memory: 1G\nmax_tmp: 100M\nlog_max: 4096\n")

	cfg, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Maximums.CPU != 0.5 {
		t.Errorf("max_cpu 500m = %v cores, want 0.5", cfg.Maximums.CPU)
	}
	if cfg.Maximums.MemoryBytes != 1_000_000_000 {
		t.Errorf("max_memory 1G = %d, want 1000000000", cfg.Maximums.MemoryBytes)
	}
	if cfg.Maximums.TmpBytes != 100_000_000 {
		t.Errorf("max_tmp 100M = %d, want 100000000", cfg.Maximums.TmpBytes)
	}
	if cfg.LogMaxBytes != 4096 {
		t.Errorf("log_max 4096 = %d, want 4096", cfg.LogMaxBytes)
	}
}

// documentedConfig returns the YAML example of docs/operations.md.
func documentedConfig(t *testing.T) string {
	t.Helper()
	doc, err := os.ReadFile(filepath.Join("..", "..", "docs", "operations.md"))
	if err != nil {
		t.Fatalf("read the operations guide: %v", err)
	}
	m := regexp.MustCompile("(?s)## config\\.yaml.*?```yaml\n(.*?)```").FindSubmatch(doc)
	if m == nil {
		t.Fatal("docs/operations.md has no yaml block under '## config.yaml'")
	}
	return string(m[1])
}

func TestLoadDocumentedConfig(t *testing.T) {
	dir := writeConfig(t, documentedConfig(t))

	cfg, err := Load(dir)
	if err != nil {
		t.Fatalf("Load of the documented example = %v", err)
	}

	want := Default(dir)
	want.RuncPath = "/usr/local/sbin/runc"
	want.SharedData = "/srv/shared/data/ethereum"
	want.EgressAllow = []string{"127.0.0.1:18099"}
	if !reflect.DeepEqual(cfg, want) {
		t.Errorf("Load of the documented example =\n%+v\nwant\n%+v", cfg, want)
	}
}

// keysOf returns the dotted key paths of a YAML mapping.
func keysOf(t *testing.T, content string) []string {
	t.Helper()
	var m map[string]any
	if err := yaml.Unmarshal([]byte(content), &m); err != nil {
		t.Fatal(err)
	}
	var keys []string
	for k, v := range m {
		keys = append(keys, k)
		if sub, ok := v.(map[string]any); ok {
			for sk := range sub {
				keys = append(keys, k+"."+sk)
			}
		}
	}
	sort.Strings(keys)
	return keys
}

func TestDocumentedKeysAreTested(t *testing.T) {
	documented := keysOf(t, documentedConfig(t))
	tested := keysOf(t, fullConfig)

	if !reflect.DeepEqual(documented, tested) {
		t.Errorf("keys in docs/operations.md = %q\nkeys in fullConfig = %q\nkeep them the same", documented, tested)
	}
}

func TestLoadInvalid(t *testing.T) {
	cases := []struct {
		name      string
		content   string
		fragments []string
	}{
		{"unknown key", "max_cpus: 2\n", []string{"max_cpus"}},
		{"unknown gateway key", "gateway:\n  max_query: 5\n", []string{"max_query"}},
		{"second document", "principal: ops\n---\nmax_cpus: 2\n", []string{"more than one YAML document"}},
		{"second document valid keys", "principal: ops\n---\nmax_pids: 9\n", []string{"more than one YAML document"}},
		// yaml.v3 type errors name the line and the value, not the key.
		{"max_pids not a number", "max_pids: lots\n", []string{"line 1", "`lots`"}},
		{"leading separator is fine", "---\nmax_cpus: 2\n", []string{"max_cpus"}},

		{"max_cpu unit", "max_cpu: two\n", []string{"max_cpu", `"two"`}},
		{"max_cpu decimals", `max_cpu: "0.0001"` + "\n", []string{"max_cpu", `"0.0001"`}},
		{"max_cpu zero", `max_cpu: "0"` + "\n", []string{"max_cpu", "below the minimum"}},
		{"max_memory unit", "max_memory: 2GB\n", []string{"max_memory", `"2GB"`}},
		{"max_memory fraction", "max_memory: 1.5Gi\n", []string{"max_memory", `"1.5Gi"`}},
		{"max_memory too small", "max_memory: 1Mi\n", []string{"max_memory 1Mi", "below the minimum"}},
		{"max_tmp unit", "max_tmp: 512mb\n", []string{"max_tmp", `"512mb"`}},
		{"max_timeout unit", "max_timeout: 15\n", []string{"max_timeout", `"15"`}},
		{"max_timeout too short", "max_timeout: 500ms\n", []string{"max_timeout 500ms", "below the minimum"}},
		{"log_max unit", "log_max: 1MB\n", []string{"log_max", `"1MB"`}},
		{"log_max too small", "log_max: 512\n", []string{"log_max 512", "below 1Ki"}},
		{"negative size", "gateway:\n  max_webhook_bytes: -1\n", []string{"gateway.max_webhook_bytes", `"-1"`}},
		{"query_timeout unit", "gateway:\n  query_timeout: soon\n", []string{"gateway.query_timeout", `"soon"`}},
		{"query_memory unit", "gateway:\n  query_memory: 256MB\n", []string{"gateway.query_memory", `"256MB"`}},
		{"max_result_bytes unit", "gateway:\n  max_result_bytes: 1.5Mi\n", []string{"gateway.max_result_bytes", `"1.5Mi"`}},
		{"max_spill_bytes unit", "gateway:\n  max_spill_bytes: big\n", []string{"gateway.max_spill_bytes", `"big"`}},

		{"max_tmp equal to max_memory", "max_memory: 1Gi\nmax_tmp: 1Gi\n", []string{"max_tmp 1Gi is not below max_memory 1Gi"}},
		{"max_tmp above max_memory", "max_tmp: 3Gi\n", []string{"max_tmp 3Gi is not below max_memory 2Gi"}},
		{"max_tmp zero", "max_tmp: 0\n", []string{"max_tmp 0 is not positive"}},

		{"egress host without port", "egress_allow: [example.com]\n", []string{"egress_allow", `"example.com" is not host:port`}},
		{"egress port zero", "egress_allow: [\"1.2.3.4:0\"]\n", []string{"egress_allow", `"1.2.3.4:0" has an invalid port`}},
		{"egress port too large", "egress_allow: [\"host:99999\"]\n", []string{"egress_allow", `"host:99999" has an invalid port`}},
		{"egress named port", "egress_allow: [\"host:https\"]\n", []string{"egress_allow", `"host:https" has an invalid port`}},
		{"egress empty host", "egress_allow: [\":443\"]\n", []string{"egress_allow", `":443" is not host:port`}},
		{"egress url", "egress_allow: [\"https://example.com/\"]\n", []string{"egress_allow", `"https://example.com/"`}},

		{"principal upper case", "principal: Bad_Name\n", []string{"principal", `"Bad_Name"`}},
		{"principal path", "principal: ../root\n", []string{"principal", `"../root"`}},
		{"state_dir relative", "state_dir: run/moat\n", []string{"state_dir", `"run/moat"`, "absolute"}},

		{"max_pids zero", "max_pids: 0\n", []string{"max_pids 0", "below the minimum"}},
		{"max_pids negative", "max_pids: -5\n", []string{"max_pids -5"}},
		{"max_queries zero", "gateway:\n  max_queries: 0\n", []string{"gateway.max_queries 0"}},
		{"max_webhook_calls zero", "gateway:\n  max_webhook_calls: 0\n", []string{"gateway.max_webhook_calls 0"}},
		{"query_threads zero", "gateway:\n  query_threads: 0\n", []string{"gateway.query_threads 0"}},
		{"max_result_rows zero", "gateway:\n  max_result_rows: 0\n", []string{"gateway.max_result_rows 0"}},
		{"max_spill_bytes zero", "gateway:\n  max_spill_bytes: \"0\"\n", []string{"gateway.max_spill_bytes 0"}},
		{"max_webhook_bytes too small", "gateway:\n  max_webhook_bytes: 512\n", []string{"gateway.max_webhook_bytes 512", "1Ki"}},
		{"max_result_bytes too small", "gateway:\n  max_result_bytes: 100\n", []string{"gateway.max_result_bytes 100"}},
		{"query_memory too small", "gateway:\n  query_memory: 16Mi\n", []string{"gateway.query_memory 16Mi", "32Mi"}},
		{"query_timeout too short", "gateway:\n  query_timeout: 500ms\n", []string{"gateway.query_timeout 500ms", "1s"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := writeConfig(t, c.content)

			_, err := Load(dir)
			wantInvalid(t, err, c.fragments...)
			if err != nil && !strings.Contains(err.Error(), Path(dir)) {
				t.Errorf("error %q does not name the file %q", err, Path(dir))
			}
		})
	}
}

func TestLoadNamesEveryBadKey(t *testing.T) {
	dir := writeConfig(t, "max_memory: 2GB\nlog_max: 1MB\n")

	_, err := Load(dir)

	wantInvalid(t, err, "max_memory", `"2GB"`, "log_max", `"1MB"`)
}

func TestValidateNamesEveryBadKey(t *testing.T) {
	cfg := Default(t.TempDir())
	cfg.Principal = "X"
	cfg.StateDir = "run"
	cfg.EgressAllow = []string{"example.com"}
	cfg.Gateway.MaxQueries = 0

	err := cfg.Validate()

	wantInvalid(t, err, `principal: `, `"X"`, `state_dir "run"`, `egress_allow: "example.com"`, "gateway.max_queries 0")
}

func TestLoadUnreadableFile(t *testing.T) {
	dir := t.TempDir()
	// A directory in place of config.yaml cannot be read as a file.
	if err := os.Mkdir(Path(dir), 0o700); err != nil {
		t.Fatal(err)
	}

	_, err := Load(dir)
	if err == nil {
		t.Fatal("Load with a directory as config.yaml = nil error")
	}
	if !strings.Contains(err.Error(), Path(dir)) {
		t.Errorf("error %q does not name %q", err, Path(dir))
	}
}
