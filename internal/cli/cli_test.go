package cli

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/moatdev/moat/internal/store"
)

func TestOrgCreateTwice(t *testing.T) {
	dir := t.TempDir()

	first := moat(t, dir, "org", "create", "acme")
	wantOK(t, first)
	if first.stdout != "created org acme\n" {
		t.Errorf("first create stdout = %q, want %q", first.stdout, "created org acme\n")
	}

	second := moat(t, dir, "org", "create", "acme")
	wantOK(t, second)
	if second.stdout != "org acme already exists\n" {
		t.Errorf("second create stdout = %q, want %q", second.stdout, "org acme already exists\n")
	}

	list := moat(t, dir, "org", "list")
	wantOK(t, list)
	if n := strings.Count(list.stdout, "\nacme "); n != 1 {
		t.Errorf("org list shows acme %d times, want 1:\n%s", n, list.stdout)
	}
}

func TestOrgCreateInvalidName(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")

	r := moat(t, dir, "org", "create", "Bad_Name")

	wantFail(t, r, 1, `org "Bad_Name"`, "lowercase letters")
	if _, err := os.Stat(filepath.Join(dir, "moat.db")); !os.IsNotExist(err) {
		t.Errorf("a rejected org name created the store (stat error %v)", err)
	}
}

func TestPrincipalActsWithAs(t *testing.T) {
	dir := dataDir(t)

	add := moat(t, dir, "principal", "add", "bob", "--role", "developer", "--org", "acme")
	wantOK(t, add)
	if add.stdout != "principal bob has role developer\n" {
		t.Errorf("principal add stdout = %q", add.stdout)
	}

	asBob := moat(t, dir, "--as", "bob", "org", "list")
	wantOK(t, asBob)
	wantContains(t, "org list as bob", asBob.stdout, "ORG", "acme")

	asNobody := moat(t, dir, "--as", "nobody", "org", "list")
	wantFail(t, asNobody, 1, `principal "nobody" does not exist`, "moat principal add nobody --role developer --org ORG")
	if asNobody.stdout != "" {
		t.Errorf("a failed lookup printed %q on stdout", asNobody.stdout)
	}
}

func TestPrincipalAddErrors(t *testing.T) {
	dir := dataDir(t)

	noOrg := moat(t, dir, "principal", "add", "carol", "--role", "developer")
	wantFail(t, noOrg, 1, `principal "carol"`, "has no org")

	badRole := moat(t, dir, "principal", "add", "carol", "--role", "root", "--org", "acme")
	wantFail(t, badRole, 1, `invalid role "root"`)

	unknownOrg := moat(t, dir, "principal", "add", "carol", "--role", "developer", "--org", "globex")
	wantFail(t, unknownOrg, 1, `org "globex"`, "not found")
}

func TestWebhookSet(t *testing.T) {
	dir := dataDir(t)

	ok := moat(t, dir, "webhook", "set", "alerts", "https://hooks.example.com/moat", "--org", "acme")
	wantOK(t, ok)
	if want := "webhook alerts of org acme delivers to https://hooks.example.com/moat\n"; ok.stdout != want {
		t.Errorf("stdout = %q, want %q", ok.stdout, want)
	}
}

func TestWebhookSetRejectsURL(t *testing.T) {
	cases := []struct {
		name      string
		url       string
		fragments []string
	}{
		{"ftp scheme", "ftp://x", []string{`invalid webhook URL "ftp://x"`, "http:// or https://"}},
		{"file scheme", "file:///etc/passwd", []string{`"file:///etc/passwd"`, "http:// or https://"}},
		{"relative", "/hooks", []string{`"/hooks"`, "http:// or https://"}},
		{"no host", "https:///path", []string{`"https:///path"`, "no host"}},
		{"credentials", "https://u:s3cret@x/", []string{"credentials in the URL are not allowed", `"https://u:xxxxx@x/"`}},
		{"user only", "https://u@x/", []string{"credentials in the URL are not allowed"}},
	}
	dir := dataDir(t)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := moat(t, dir, "webhook", "set", "alerts", c.url, "--org", "acme")

			wantFail(t, r, 1, c.fragments...)
			if strings.Contains(r.stderr, "s3cret") {
				t.Errorf("stderr %q repeats the password", r.stderr)
			}
		})
	}

	// No rejected URL may have been stored or audited.
	audit := moat(t, dir, "audit", "list", "--json")
	wantOK(t, audit)
	if strings.Contains(audit.stdout, "webhook.") {
		t.Errorf("audit log records a webhook change after only rejected URLs:\n%s", audit.stdout)
	}
}

func TestWebhookSetRequiresOrg(t *testing.T) {
	dir := dataDir(t)

	r := moat(t, dir, "webhook", "set", "alerts", "https://hooks.example.com/")

	wantFail(t, r, 1, `required flag(s) "org" not set`)
}

func TestDatasetImportAndList(t *testing.T) {
	dir := dataDir(t)
	csv := filepath.Join(t.TempDir(), "watchlist.csv")
	content := "address,label\n0x00000000219ab540356cbb839cbe05303d7705fa,beacon deposit\n0xdac17f958d2ee523a2206206994597c13d831ec7,usdt\n"
	if err := os.WriteFile(csv, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}

	imp := moat(t, dir, "dataset", "import", "watchlist", csv, "--org", "acme", "--schema", "address VARCHAR, label VARCHAR")
	wantOK(t, imp)
	wantContains(t, "import stdout", imp.stdout, "imported watchlist (org acme): 2 rows")
	if _, err := os.Stat(filepath.Join(dir, "datasets", "org=acme", "watchlist", "data.parquet")); err != nil {
		t.Errorf("the org's Parquet file is missing: %v", err)
	}

	list := moat(t, dir, "dataset", "list", "--org", "acme")
	wantOK(t, list)
	if !strings.Contains(list.stdout, "watchlist") {
		t.Fatalf("dataset list --org acme does not show watchlist:\n%s", list.stdout)
	}
	var row []string
	for _, line := range strings.Split(list.stdout, "\n") {
		if strings.HasPrefix(line, "watchlist ") {
			row = strings.Fields(line)
		}
	}
	want := []string{"watchlist", "acme", "2", "address", "VARCHAR,", "label", "VARCHAR"}
	if strings.Join(row, " ") != strings.Join(want, " ") {
		t.Errorf("watchlist row = %q, want %q", row, want)
	}

	// An org dataset is not listed for anyone else.
	wantOK(t, moat(t, dir, "org", "create", "globex"))
	for _, args := range [][]string{{"dataset", "list"}, {"dataset", "list", "--org", "globex"}} {
		other := moat(t, dir, args...)
		wantOK(t, other)
		if strings.Contains(other.stdout, "watchlist") {
			t.Errorf("moat %s shows acme's dataset:\n%s", strings.Join(args, " "), other.stdout)
		}
	}
}

func TestDatasetImportWithoutSchema(t *testing.T) {
	dir := dataDir(t)
	csv := filepath.Join(t.TempDir(), "watchlist.csv")
	if err := os.WriteFile(csv, []byte("address,label\n0xabc,x\n"), 0o600); err != nil {
		t.Fatal(err)
	}

	r := moat(t, dir, "dataset", "import", "watchlist", csv, "--org", "acme")

	wantFail(t, r, 1, "missing schema for watchlist", "--schema 'address VARCHAR, label VARCHAR'")
	list := moat(t, dir, "dataset", "list", "--org", "acme")
	wantOK(t, list)
	if strings.Contains(list.stdout, "watchlist") {
		t.Errorf("a failed import is listed:\n%s", list.stdout)
	}
}

func TestDatasetImportInvalidName(t *testing.T) {
	dir := dataDir(t)

	r := moat(t, dir, "dataset", "import", "../x", "/dev/null", "--org", "acme", "--schema", "a VARCHAR")

	wantFail(t, r, 1, `dataset "../x"`)
}

func TestRunsShowUnknown(t *testing.T) {
	dir := dataDir(t)

	r := moat(t, dir, "runs", "show", "r-0000000000000000")

	wantFail(t, r, 1, `run "r-0000000000000000" not found`, "moat runs list")
}

func TestRunsShowInvalidID(t *testing.T) {
	dir := t.TempDir()

	r := moat(t, dir, "runs", "show", "nonsense")

	wantFail(t, r, 1, `invalid identifier: run "nonsense"`, "r-0123456789abcdef")
}

func TestAuditListJSONChain(t *testing.T) {
	dir := dataDir(t)
	wantOK(t, moat(t, dir, "org", "create", "globex"))
	wantOK(t, moat(t, dir, "principal", "add", "bob", "--role", "developer", "--org", "acme"))
	wantOK(t, moat(t, dir, "webhook", "set", "alerts", "https://hooks.example.com/", "--org", "acme"))

	r := moat(t, dir, "audit", "list", "--json")
	wantOK(t, r)

	lines := strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\n")
	if len(lines) != 4 {
		t.Fatalf("audit list has %d lines, want 4 (two orgs, a principal, a webhook):\n%s", len(lines), r.stdout)
	}
	wantTypes := []string{"org.created", "org.created", "principal.added", "webhook.configured"}
	// The first event links to the all-zero hash.
	prev := strings.Repeat("0", 64)
	for i, line := range lines {
		var e map[string]any
		if err := json.Unmarshal([]byte(line), &e); err != nil {
			t.Fatalf("line %d %q is not JSON: %v", i+1, line, err)
		}
		for _, key := range []string{"seq", "type", "prev_hash", "hash"} {
			if _, ok := e[key]; !ok {
				t.Errorf("line %d has no %q: %s", i+1, key, line)
			}
		}

		if seq, _ := e["seq"].(float64); seq != float64(i+1) {
			t.Errorf("line %d has seq %v, want %d", i+1, e["seq"], i+1)
		}
		if typ, _ := e["type"].(string); typ != wantTypes[i] {
			t.Errorf("line %d has type %q, want %q", i+1, typ, wantTypes[i])
		}
		hash, _ := e["hash"].(string)
		if len(hash) != 64 {
			t.Errorf("line %d has hash %q, want 64 hex digits", i+1, hash)
		}
		if got, _ := e["prev_hash"].(string); got != prev {
			t.Errorf("line %d has prev_hash %q, want the previous hash %q", i+1, got, prev)
		}
		prev = hash
	}
}

func TestAuditListInvalidRun(t *testing.T) {
	dir := t.TempDir()

	r := moat(t, dir, "audit", "list", "--run", "../x")

	wantFail(t, r, 1, `run "../x"`)
}

// createFinishedRun records a failed run of acme's job "watch" directly
// through the store.
func createFinishedRun(t *testing.T, dir, id string) {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(dir, "moat.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()

	if err := st.EnsureJob(ctx, "admin", store.Job{Org: "acme", Name: "watch", Kind: "alert"}); err != nil {
		t.Fatal(err)
	}
	run := store.Run{ID: id, Org: "acme", Job: "watch", Actor: "admin",
		Digest: "sha256:" + strings.Repeat("ab", 32)}
	if err := st.CreateRun(ctx, run); err != nil {
		t.Fatal(err)
	}
	if err := st.MarkRunStarted(ctx, id, time.Time{}); err != nil {
		t.Fatal(err)
	}
	exit := 3
	err = st.FinishRun(ctx, store.Run{
		ID: id, Cause: "failed", Reason: "the job exited with code 3", ExitCode: &exit,
		CPUSeconds: 0.25, PeakMemoryBytes: 12345678, WallMillis: 1500, RowsReturned: 42,
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestRunsShowJSON(t *testing.T) {
	dir := dataDir(t)
	const id = "r-00000000000000f1"
	createFinishedRun(t, dir, id)

	r := moat(t, dir, "runs", "show", id, "--json")
	wantOK(t, r)

	dec := json.NewDecoder(bytes.NewReader([]byte(r.stdout)))
	dec.UseNumber()
	var got map[string]any
	if err := dec.Decode(&got); err != nil {
		t.Fatalf("runs show --json output is not JSON: %v", err)
	}
	want := map[string]any{
		"id":                id,
		"org":               "acme",
		"job":               "watch",
		"state":             "finished",
		"cause":             "failed",
		"reason":            "the job exited with code 3",
		"exit_code":         json.Number("3"),
		"cpu_seconds":       json.Number("0.25"),
		"peak_memory_bytes": json.Number("12345678"),
		"wall_ms":           json.Number("1500"),
		"rows_returned":     json.Number("42"),
		"oom_kills":         json.Number("0"),
		"pids_hits":         json.Number("0"),
	}
	for key, value := range want {
		if got[key] != value {
			t.Errorf("%s = %#v, want %#v", key, got[key], value)
		}
	}
}

func TestRunsShowSummary(t *testing.T) {
	dir := dataDir(t)
	const id = "r-00000000000000f2"
	createFinishedRun(t, dir, id)

	r := moat(t, dir, "runs", "show", id)
	wantOK(t, r)

	wantContains(t, "runs show", r.stdout,
		"run "+id+"  org acme  job watch",
		"cause        failed",
		"reason       the job exited with code 3",
		"exit code    3",
		"wall         1500 ms",
		"cpu          0.250 s",
		"peak memory  11.8 MiB",
		"queries      0 (42 rows returned)",
	)
}

func TestRunsListJSON(t *testing.T) {
	dir := dataDir(t)
	createFinishedRun(t, dir, "r-00000000000000f3")

	r := moat(t, dir, "runs", "list", "--json", "--org", "acme")
	wantOK(t, r)

	var runs []map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &runs); err != nil {
		t.Fatalf("runs list --json output is not a JSON array: %v", err)
	}
	if len(runs) != 1 || runs[0]["id"] != "r-00000000000000f3" {
		t.Errorf("runs list --json = %v, want the one run", runs)
	}
}

func TestRunRequiresOrg(t *testing.T) {
	dir := t.TempDir()

	r := moat(t, dir, "run", t.TempDir())

	wantFail(t, r, 1, `required flag(s) "org" not set`)
}

func TestRunInvalidOrg(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")

	r := moat(t, dir, "run", t.TempDir(), "--org", "Bad")

	wantFail(t, r, 1, `invalid identifier: org "Bad"`)
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("a rejected org created the data directory (stat error %v)", err)
	}
}

func TestRunArgumentCount(t *testing.T) {
	dir := t.TempDir()

	r := moat(t, dir, "run", "--org", "acme")

	wantFail(t, r, 1, "accepts 1 arg(s), received 0")
}

func TestUnknownCommand(t *testing.T) {
	r := moat(t, t.TempDir(), "frobnicate")

	wantFail(t, r, 1, `unknown command "frobnicate"`)
}

func TestInvalidLogLevel(t *testing.T) {
	r := moat(t, t.TempDir(), "--log-level", "loud", "org", "list")

	wantFail(t, r, 1, `invalid --log-level "loud"`)
}

func TestInvalidConfigFile(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "config.yaml"), []byte("max_cpus: 2\n"), 0o600); err != nil {
		t.Fatal(err)
	}

	r := moat(t, dir, "org", "list")

	wantFail(t, r, 1, "config.yaml", "max_cpus")
}

func TestLogFileIsJSON(t *testing.T) {
	dir := dataDir(t)

	data, err := os.ReadFile(filepath.Join(dir, "moat.log"))
	if err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	lines := 0
	for sc.Scan() {
		lines++
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Errorf("moat.log line %q is not JSON: %v", sc.Text(), err)
		}
	}
	if lines == 0 {
		t.Error("moat.log is empty after org create, want the audit line")
	}
}

func TestPrincipalList(t *testing.T) {
	dir := dataDir(t)
	wantOK(t, moat(t, dir, "principal", "add", "bob", "--role", "developer", "--org", "acme"))

	list := moat(t, dir, "principal", "list")

	wantOK(t, list)
	wantContains(t, "principal list", list.stdout, "PRINCIPAL", "admin", "platform-admin", "bob", "developer", "acme")
}

func TestDeveloperCannotAddPlatformAdmin(t *testing.T) {
	dir := dataDir(t)
	wantOK(t, moat(t, dir, "principal", "add", "bob", "--role", "developer", "--org", "acme"))

	escalate := moat(t, dir, "--as", "bob", "principal", "add", "eve", "--role", "platform-admin")

	wantFail(t, escalate, 1, `principal "bob"`, "permission denied")
	audit := moat(t, dir, "audit", "list", "--json")
	wantContains(t, "audit list", audit.stdout, `"type":"authz.denied"`, `"actor":"bob"`)
}
