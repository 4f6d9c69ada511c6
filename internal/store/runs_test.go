package store

import (
	"context"
	"reflect"
	"testing"
	"time"
)

func TestRunRoundTrip(t *testing.T) {
	s := openTest(t)
	ctx := context.Background()
	seedJob(t, s, "acme")

	queued := time.Date(2026, 1, 2, 3, 4, 5, 123456789, time.FixedZone("x", 3600))
	r := Run{ID: testRunA, Org: "acme", Job: "watch", Digest: testDigest, Actor: testActor,
		Limits: []byte(`{"cpu":1}`), QueuedAt: queued}
	if err := s.CreateRun(ctx, r); err != nil {
		t.Fatal(err)
	}

	started := queued.Add(time.Second)
	if err := s.MarkRunStarted(ctx, testRunA, started); err != nil {
		t.Fatal(err)
	}

	exit := 3
	finished := started.Add(2 * time.Second)
	fin := Run{ID: testRunA, Cause: "failed", Reason: "exit code 3", ExitCode: &exit,
		CPUSeconds: 1.5, PeakMemoryBytes: 1 << 20, OOMKills: 1, PidsHits: 2, WallMillis: 2000,
		RowsReturned: 7, Queries: 2, WebhookCalls: 1, LogPath: "logs/r.log", LogBytes: 99, LogTruncated: true,
		FinishedAt: &finished}
	if err := s.FinishRun(ctx, fin); err != nil {
		t.Fatal(err)
	}

	got, err := s.GetRun(ctx, testRunA)
	if err != nil {
		t.Fatal(err)
	}
	startedUTC, finishedUTC := started.UTC(), finished.UTC()
	want := Run{ID: testRunA, Org: "acme", Job: "watch", Digest: testDigest, Actor: testActor,
		State: RunFinished, Cause: "failed", Reason: "exit code 3", ExitCode: &exit, Limits: []byte(`{"cpu":1}`),
		CPUSeconds: 1.5, PeakMemoryBytes: 1 << 20, OOMKills: 1, PidsHits: 2, WallMillis: 2000,
		RowsReturned: 7, Queries: 2, WebhookCalls: 1, LogPath: "logs/r.log", LogBytes: 99, LogTruncated: true,
		QueuedAt: queued.UTC(), StartedAt: &startedUTC, FinishedAt: &finishedUTC}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("GetRun =\n%+v\nwant\n%+v", got, want)
	}
}

func TestCreateRunDefaults(t *testing.T) {
	s := openTest(t)
	ctx := context.Background()
	before := time.Now().UTC()
	seedRun(t, s, "acme", testRunA)

	got, err := s.GetRun(ctx, testRunA)
	if err != nil {
		t.Fatal(err)
	}
	if got.State != RunQueued || got.Cause != "" || got.ExitCode != nil || got.StartedAt != nil || got.FinishedAt != nil {
		t.Errorf("new run = %+v, want queued with no terminal fields", got)
	}
	if got.QueuedAt.Before(before) || got.QueuedAt.Location() != time.UTC {
		t.Errorf("QueuedAt = %v, want UTC now", got.QueuedAt)
	}
}

func TestCreateRunErrors(t *testing.T) {
	s := openTest(t)
	ctx := context.Background()
	seedRun(t, s, "acme", testRunA)
	ok := Run{ID: testRunB, Org: "acme", Job: "watch", Digest: testDigest, Actor: testActor}

	dup := ok
	dup.ID = testRunA
	err := s.CreateRun(ctx, dup)
	wantErr(t, err, ErrExists, `run "`+testRunA+`" already exists`)

	bad := ok
	bad.ID = "run-1"
	wantInvalid(t, s.CreateRun(ctx, bad), "run-1")

	bad = ok
	bad.Job = "ghost"
	wantErr(t, s.CreateRun(ctx, bad), ErrNotFound, `job "ghost" of org "acme" not found`)

	bad = ok
	bad.Org = "globex"
	wantErr(t, s.CreateRun(ctx, bad), ErrNotFound, `job "watch" of org "globex" not found`)

	bad = ok
	bad.Actor = ""
	wantInvalid(t, s.CreateRun(ctx, bad), "")

	bad = ok
	bad.Digest = "sha256:zz"
	wantInvalid(t, s.CreateRun(ctx, bad), "sha256:zz")

	bad = ok
	bad.State = RunRunning
	wantErr(t, s.CreateRun(ctx, bad), nil, `state "running"`)

	bad = ok
	bad.Limits = []byte("{")
	wantErr(t, s.CreateRun(ctx, bad), nil, "not valid JSON")

	noDigest := ok
	noDigest.Digest = ""
	if err := s.CreateRun(ctx, noDigest); err != nil {
		t.Errorf("run without digest: %v", err)
	}
}

func TestMarkRunStartedErrors(t *testing.T) {
	s := openTest(t)
	ctx := context.Background()
	seedRun(t, s, "acme", testRunA)

	wantErr(t, s.MarkRunStarted(ctx, testRunB, time.Time{}), ErrNotFound, `run "`+testRunB+`" not found`)
	wantInvalid(t, s.MarkRunStarted(ctx, "x", time.Time{}), "x")

	if err := s.MarkRunStarted(ctx, testRunA, time.Time{}); err != nil {
		t.Fatal(err)
	}
	err := s.MarkRunStarted(ctx, testRunA, time.Time{})
	wantErr(t, err, nil, `run "`+testRunA+`" is running`, "queued")

	if err := s.FinishRun(ctx, Run{ID: testRunA, Cause: "succeeded"}); err != nil {
		t.Fatal(err)
	}
	err = s.MarkRunStarted(ctx, testRunA, time.Time{})
	wantErr(t, err, ErrRunFinished, `"succeeded"`)
}

func TestFinishRunTwiceKeepsFirstCause(t *testing.T) {
	s := openTest(t)
	ctx := context.Background()
	seedRun(t, s, "acme", testRunA)

	if err := s.FinishRun(ctx, Run{ID: testRunA, Cause: "timeout", Reason: "ran past 60s"}); err != nil {
		t.Fatal(err)
	}
	err := s.FinishRun(ctx, Run{ID: testRunA, Cause: "succeeded"})
	wantErr(t, err, ErrRunFinished, testRunA, `cause "timeout"`)

	got, err := s.GetRun(ctx, testRunA)
	if err != nil {
		t.Fatal(err)
	}
	if got.Cause != "timeout" || got.Reason != "ran past 60s" || got.State != RunFinished {
		t.Errorf("run after second finish = %q %q %q, want finished timeout", got.State, got.Cause, got.Reason)
	}
	if got.FinishedAt == nil {
		t.Error("FinishedAt not set")
	}
}

func TestFinishRunErrors(t *testing.T) {
	s := openTest(t)
	ctx := context.Background()
	seedRun(t, s, "acme", testRunA)

	wantErr(t, s.FinishRun(ctx, Run{ID: testRunB, Cause: "failed"}), ErrNotFound, `run "`+testRunB+`" not found`)
	wantErr(t, s.FinishRun(ctx, Run{ID: testRunA}), nil, `run "`+testRunA+`" has no cause`)
	wantInvalid(t, s.FinishRun(ctx, Run{ID: "r-1", Cause: "failed"}), "r-1")
}

func TestRequestCancel(t *testing.T) {
	s := openTest(t)
	ctx := context.Background()
	seedRun(t, s, "acme", testRunA)

	if err := s.RequestCancel(ctx, testRunA); err != nil {
		t.Fatal(err)
	}
	if err := s.RequestCancel(ctx, testRunA); err != nil {
		t.Fatalf("second cancel request: %v", err)
	}
	got, err := s.GetRun(ctx, testRunA)
	if err != nil {
		t.Fatal(err)
	}
	if !got.CancelRequested {
		t.Error("CancelRequested = false after RequestCancel")
	}

	wantErr(t, s.RequestCancel(ctx, testRunB), ErrNotFound, `run "`+testRunB+`" not found`)
	wantInvalid(t, s.RequestCancel(ctx, "nope"), "nope")

	if err := s.FinishRun(ctx, Run{ID: testRunA, Cause: "cancelled"}); err != nil {
		t.Fatal(err)
	}
	err = s.RequestCancel(ctx, testRunA)
	wantErr(t, err, ErrRunFinished, testRunA, `cause "cancelled"`)
}

func TestAddRunCounters(t *testing.T) {
	s := openTest(t)
	ctx := context.Background()
	seedRun(t, s, "acme", testRunA)

	err := s.AddRunCounters(ctx, testRunA, 1, 10, 0)
	wantErr(t, err, nil, `run "`+testRunA+`" is queued`)

	if err := s.MarkRunStarted(ctx, testRunA, time.Time{}); err != nil {
		t.Fatal(err)
	}
	if err := s.AddRunCounters(ctx, testRunA, 1, 10, 0); err != nil {
		t.Fatal(err)
	}
	if err := s.AddRunCounters(ctx, testRunA, 2, 5, 1); err != nil {
		t.Fatal(err)
	}
	wantErr(t, s.AddRunCounters(ctx, testRunA, -1, 0, 0), nil, "must only grow")
	wantErr(t, s.AddRunCounters(ctx, testRunB, 1, 0, 0), ErrNotFound, testRunB)

	got, err := s.GetRun(ctx, testRunA)
	if err != nil {
		t.Fatal(err)
	}
	if got.Queries != 3 || got.RowsReturned != 15 || got.WebhookCalls != 1 {
		t.Errorf("counters = %d %d %d, want 3 15 1", got.Queries, got.RowsReturned, got.WebhookCalls)
	}

	// A finish without counters keeps the ones added during the run.
	if err := s.FinishRun(ctx, Run{ID: testRunA, Cause: "succeeded", Queries: 5}); err != nil {
		t.Fatal(err)
	}
	got, err = s.GetRun(ctx, testRunA)
	if err != nil {
		t.Fatal(err)
	}
	if got.Queries != 5 || got.RowsReturned != 15 || got.WebhookCalls != 1 {
		t.Errorf("counters after finish = %d %d %d, want 5 15 1", got.Queries, got.RowsReturned, got.WebhookCalls)
	}

	wantErr(t, s.AddRunCounters(ctx, testRunA, 1, 0, 0), ErrRunFinished, `cause "succeeded"`)
}

func TestListRuns(t *testing.T) {
	s := openTest(t)
	ctx := context.Background()
	seedJob(t, s, "acme")
	seedJob(t, s, "globex")
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	runs := []struct {
		id, org string
	}{
		{"r-0000000000000001", "acme"},
		{"r-0000000000000002", "globex"},
		{"r-0000000000000003", "acme"},
	}
	for i, r := range runs {
		err := s.CreateRun(ctx, Run{ID: r.id, Org: r.org, Job: "watch", Actor: testActor, QueuedAt: base.Add(time.Duration(i) * time.Minute)})
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := s.MarkRunStarted(ctx, "r-0000000000000003", time.Time{}); err != nil {
		t.Fatal(err)
	}
	if err := s.FinishRun(ctx, Run{ID: "r-0000000000000002", Cause: "succeeded"}); err != nil {
		t.Fatal(err)
	}

	check := func(name string, f RunFilter, want ...string) {
		t.Helper()
		list, err := s.ListRuns(ctx, f)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		var got []string
		for _, r := range list {
			got = append(got, r.ID)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: ListRuns = %v, want %v", name, got, want)
		}
	}
	check("all", RunFilter{}, "r-0000000000000003", "r-0000000000000002", "r-0000000000000001")
	check("org", RunFilter{Org: "acme"}, "r-0000000000000003", "r-0000000000000001")
	check("state", RunFilter{State: RunFinished}, "r-0000000000000002")
	check("org and state", RunFilter{Org: "acme", State: RunQueued}, "r-0000000000000001")
	check("limit", RunFilter{Limit: 1}, "r-0000000000000003")

	unfinished, err := s.ListUnfinishedRuns(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(unfinished) != 2 || unfinished[0].ID != "r-0000000000000001" || unfinished[1].ID != "r-0000000000000003" {
		t.Errorf("ListUnfinishedRuns = %+v, want runs 1 and 3 oldest first", unfinished)
	}

	_, err = s.ListRuns(ctx, RunFilter{State: "done"})
	wantErr(t, err, nil, `invalid run state "done"`)
	_, err = s.ListRuns(ctx, RunFilter{Org: "A B"})
	wantInvalid(t, err, "A B")
	_, err = s.ListRuns(ctx, RunFilter{Limit: -1})
	wantErr(t, err, nil, "invalid run limit -1")
}

func TestGetRunErrors(t *testing.T) {
	s := openTest(t)
	ctx := context.Background()

	_, err := s.GetRun(ctx, testRunA)
	wantErr(t, err, ErrNotFound, `run "`+testRunA+`" not found`)

	_, err = s.GetRun(ctx, "r-XYZ")
	wantInvalid(t, err, "r-XYZ")
}
