package store

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

func enqueue(t *testing.T, s *SQLite, runID, key string) int64 {
	t.Helper()
	id, err := s.EnqueueOutbox(context.Background(), OutboxItem{RunID: runID, Org: "acme", Webhook: "alerts",
		URL: "https://hooks.example.com/", Body: []byte(`{"n":1}`), IdempotencyKey: key, State: OutboxPending})
	if err != nil {
		t.Fatalf("EnqueueOutbox(%q): %v", key, err)
	}
	return id
}

func TestOutboxEnqueueList(t *testing.T) {
	s := openTest(t)
	ctx := context.Background()
	seedRun(t, s, "acme", testRunA)

	id1 := enqueue(t, s, testRunA, "k1")
	id2, err := s.EnqueueOutbox(ctx, OutboxItem{RunID: testRunA, Org: "acme", Webhook: "alerts", URL: "https://h.example.com/"})
	if err != nil {
		t.Fatal(err)
	}
	if id2 <= id1 {
		t.Errorf("ids %d then %d, want increasing", id1, id2)
	}

	items, err := s.ListOutbox(ctx, testRunA)
	if err != nil {
		t.Fatal(err)
	}
	if len(items) != 2 {
		t.Fatalf("ListOutbox returned %d items, want 2", len(items))
	}
	first := items[0]
	if first.ID != id1 || first.RunID != testRunA || first.Org != "acme" || first.Webhook != "alerts" ||
		first.URL != "https://hooks.example.com/" || string(first.Body) != `{"n":1}` || first.IdempotencyKey != "k1" ||
		first.State != OutboxPending || first.Attempts != 0 || first.DeliveredAt != nil || first.CreatedAt.IsZero() {
		t.Errorf("first item = %+v", first)
	}
	if len(items[1].IdempotencyKey) != 32 {
		t.Errorf("generated idempotency key %q, want 32 hex digits", items[1].IdempotencyKey)
	}
}

func TestOutboxEnqueueErrors(t *testing.T) {
	s := openTest(t)
	ctx := context.Background()
	seedRun(t, s, "acme", testRunA)
	seedJob(t, s, "globex")
	enqueue(t, s, testRunA, "k1")
	ok := OutboxItem{RunID: testRunA, Org: "acme", Webhook: "alerts", URL: "https://h.example.com/"}

	bad := ok
	bad.IdempotencyKey = "k1"
	_, err := s.EnqueueOutbox(ctx, bad)
	wantErr(t, err, ErrExists, `idempotency key "k1"`)

	bad = ok
	bad.RunID = testRunB
	_, err = s.EnqueueOutbox(ctx, bad)
	wantErr(t, err, ErrNotFound, `run "`+testRunB+`" not found`)

	bad = ok
	bad.Org = "globex"
	_, err = s.EnqueueOutbox(ctx, bad)
	wantErr(t, err, nil, `run "`+testRunA+`" belongs to org "acme", not "globex"`)

	bad = ok
	bad.Webhook = "Bad Hook"
	_, err = s.EnqueueOutbox(ctx, bad)
	wantInvalid(t, err, "Bad Hook")

	bad = ok
	bad.State = OutboxDelivered
	_, err = s.EnqueueOutbox(ctx, bad)
	wantErr(t, err, nil, `state "delivered"`)

	bad = ok
	bad.URL = ""
	_, err = s.EnqueueOutbox(ctx, bad)
	wantErr(t, err, nil, "has no URL")

	_, err = s.ListOutbox(ctx, "bad")
	wantInvalid(t, err, "bad")
}

func TestOutboxClaimComplete(t *testing.T) {
	s := openTest(t)
	ctx := context.Background()
	seedRun(t, s, "acme", testRunA)
	ids := []int64{enqueue(t, s, testRunA, "k1"), enqueue(t, s, testRunA, "k2"), enqueue(t, s, testRunA, "k3")}

	claimed, err := s.ClaimOutbox(ctx, testRunA, 2)
	if err != nil {
		t.Fatal(err)
	}
	if len(claimed) != 2 || claimed[0].ID != ids[0] || claimed[1].ID != ids[1] || claimed[0].State != OutboxClaimed {
		t.Fatalf("ClaimOutbox(2) = %+v, want the two oldest, claimed", claimed)
	}

	if err := s.CompleteOutbox(ctx, ids[0], OutboxDelivered, 200, ""); err != nil {
		t.Fatal(err)
	}
	if err := s.CompleteOutbox(ctx, ids[1], OutboxPending, 503, "service unavailable"); err != nil {
		t.Fatal(err)
	}

	items, err := s.ListOutbox(ctx, testRunA)
	if err != nil {
		t.Fatal(err)
	}
	d := items[0]
	if d.State != OutboxDelivered || d.Attempts != 1 || d.LastStatus != 200 || d.LastError != "" || d.DeliveredAt == nil {
		t.Errorf("delivered item = %+v", d)
	}
	r := items[1]
	if r.State != OutboxPending || r.Attempts != 1 || r.LastStatus != 503 || r.LastError != "service unavailable" || r.DeliveredAt != nil {
		t.Errorf("retry item = %+v", r)
	}

	// The released item and the never-claimed one are claimable; the
	// delivered one is not.
	claimed, err = s.ClaimOutbox(ctx, testRunA, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(claimed) != 2 || claimed[0].ID != ids[1] || claimed[1].ID != ids[2] {
		t.Fatalf("second claim = %+v, want items %d and %d", claimed, ids[1], ids[2])
	}
	if err := s.CompleteOutbox(ctx, ids[1], OutboxFailed, 0, "connection refused"); err != nil {
		t.Fatal(err)
	}
	items, err = s.ListOutbox(ctx, testRunA)
	if err != nil {
		t.Fatal(err)
	}
	if items[1].State != OutboxFailed || items[1].Attempts != 2 || items[1].LastError != "connection refused" {
		t.Errorf("failed item = %+v", items[1])
	}

	claimed, err = s.ClaimOutbox(ctx, testRunA, 10)
	if err != nil || len(claimed) != 0 {
		t.Errorf("claim with nothing pending = %+v, %v; want none", claimed, err)
	}
}

func TestOutboxCompleteErrors(t *testing.T) {
	s := openTest(t)
	ctx := context.Background()
	seedRun(t, s, "acme", testRunA)
	id := enqueue(t, s, testRunA, "k1")

	err := s.CompleteOutbox(ctx, id, OutboxDelivered, 200, "")
	wantErr(t, err, nil, fmt.Sprintf("outbox item %d is pending, not claimed", id))

	wantErr(t, s.CompleteOutbox(ctx, 9999, OutboxDelivered, 200, ""), ErrNotFound, "outbox item 9999 not found")
	wantErr(t, s.CompleteOutbox(ctx, id, OutboxClaimed, 200, ""), nil, `invalid outbox result state "claimed"`)

	other := openAt(t, s.pathForTest(t))
	if _, err := other.ClaimOutbox(ctx, testRunA, 1); err != nil {
		t.Fatal(err)
	}
	err = s.CompleteOutbox(ctx, id, OutboxDelivered, 200, "")
	wantErr(t, err, nil, fmt.Sprintf("outbox item %d is claimed by another store handle", id))

	_, err = s.ClaimOutbox(ctx, testRunA, 0)
	wantErr(t, err, nil, "invalid outbox claim size 0")
	_, err = s.ClaimOutbox(ctx, "x", 1)
	wantInvalid(t, err, "x")
}

func TestOutboxStaleClaimReclaimed(t *testing.T) {
	s := openTest(t)
	ctx := context.Background()
	seedRun(t, s, "acme", testRunA)
	id := enqueue(t, s, testRunA, "k1")

	if _, err := s.ClaimOutbox(ctx, testRunA, 1); err != nil {
		t.Fatal(err)
	}
	other := openAt(t, s.pathForTest(t))
	claimed, err := other.ClaimOutbox(ctx, testRunA, 1)
	if err != nil || len(claimed) != 0 {
		t.Fatalf("claim of a freshly claimed item = %+v, %v; want none", claimed, err)
	}

	old := formatTime(time.Now().Add(-outboxClaimTTL - time.Minute))
	if _, err := s.db.Exec(`UPDATE outbox SET claimed_at = ? WHERE id = ?`, old, id); err != nil {
		t.Fatal(err)
	}
	claimed, err = other.ClaimOutbox(ctx, testRunA, 1)
	if err != nil || len(claimed) != 1 || claimed[0].ID != id {
		t.Fatalf("claim of a stale item = %+v, %v; want item %d", claimed, err, id)
	}
	if err := other.CompleteOutbox(ctx, id, OutboxDelivered, 204, ""); err != nil {
		t.Errorf("new claimer completes: %v", err)
	}
	err = s.CompleteOutbox(ctx, id, OutboxDelivered, 200, "")
	wantErr(t, err, nil, "is delivered, not claimed")
}

func TestOutboxClaimAllRuns(t *testing.T) {
	s := openTest(t)
	ctx := context.Background()
	seedRun(t, s, "acme", testRunA)
	seedRun(t, s, "acme", testRunB)
	enqueue(t, s, testRunA, "k1")
	enqueue(t, s, testRunB, "k2")

	claimed, err := s.ClaimOutbox(ctx, "", 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(claimed) != 2 || claimed[0].RunID != testRunA || claimed[1].RunID != testRunB {
		t.Errorf("claim over all runs = %+v", claimed)
	}
}

// Two handles on one file (as two processes would have) claim in parallel;
// every item must be claimed exactly once.
func TestOutboxConcurrentClaimsDisjoint(t *testing.T) {
	s := openTest(t)
	ctx := context.Background()
	seedRun(t, s, "acme", testRunA)
	const total = 200
	for i := range total {
		enqueue(t, s, testRunA, fmt.Sprintf("k%d", i))
	}
	handles := []*SQLite{s, openAt(t, s.pathForTest(t))}

	var mu sync.Mutex
	seen := map[int64]int{}
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for h := range 4 {
		wg.Add(1)
		go func(st *SQLite) {
			defer wg.Done()
			for {
				items, err := st.ClaimOutbox(ctx, testRunA, 3)
				if err != nil {
					errs <- err
					return
				}
				if len(items) == 0 {
					return
				}
				mu.Lock()
				for _, it := range items {
					seen[it.ID]++
				}
				mu.Unlock()
			}
		}(handles[h%2])
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("ClaimOutbox: %v", err)
	}

	if len(seen) != total {
		t.Errorf("claimed %d distinct items, want %d", len(seen), total)
	}
	for id, n := range seen {
		if n != 1 {
			t.Errorf("item %d claimed %d times", id, n)
		}
	}
}

// pathForTest returns the main database file of s.
func (s *SQLite) pathForTest(t *testing.T) string {
	t.Helper()
	var seq int
	var name, file string
	if err := s.db.QueryRow(`PRAGMA database_list`).Scan(&seq, &name, &file); err != nil {
		t.Fatal(err)
	}
	return filepath.Clean(file)
}

func TestOutboxEnqueueFinishedRun(t *testing.T) {
	s := openTest(t)
	ctx := context.Background()
	seedRun(t, s, "acme", testRunA)
	if err := s.FinishRun(ctx, Run{ID: testRunA, Cause: "timeout"}); err != nil {
		t.Fatal(err)
	}

	_, err := s.EnqueueOutbox(ctx, OutboxItem{RunID: testRunA, Org: "acme", Webhook: "alerts", URL: "https://h.example.com/"})
	wantErr(t, err, ErrRunFinished, testRunA, `cause "timeout"`)
}
