package store

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"
)

func appendEvents(t *testing.T, s *SQLite, n int) []Event {
	t.Helper()
	var out []Event
	for i := range n {
		e, err := s.AppendAudit(context.Background(), Event{Type: "run.started", Actor: testActor, Org: "acme",
			RunID: testRunA, Job: "watch", Decision: "allow", Reason: fmt.Sprintf("event %d", i),
			Details: map[string]any{"i": i, "big": int64(1) << 60, "nested": map[string]any{"b": 1, "a": "x"}}})
		if err != nil {
			t.Fatalf("AppendAudit %d: %v", i, err)
		}
		out = append(out, e)
	}
	return out
}

func wantChainBreak(t *testing.T, s *SQLite, seq int64) {
	t.Helper()
	checked, err := s.VerifyChain(context.Background())
	var ce *ChainError
	if !errors.As(err, &ce) {
		t.Fatalf("VerifyChain = %d, %v; want a *ChainError", checked, err)
	}
	if !errors.Is(err, ErrChainBroken) {
		t.Errorf("error %q does not wrap ErrChainBroken", err)
	}
	if ce.Seq != seq {
		t.Errorf("chain broken at seq %d (%v), want %d", ce.Seq, err, seq)
	}
	if checked != seq-1 {
		t.Errorf("checked = %d, want %d events before the break", checked, seq-1)
	}
}

// dropAppendOnlyTriggers does what an attacker with write access to the
// database file can do first.
func dropAppendOnlyTriggers(t *testing.T, s *SQLite) {
	t.Helper()
	for _, trig := range []string{"audit_events_no_update", "audit_events_no_delete"} {
		if _, err := s.db.Exec(`DROP TRIGGER ` + trig); err != nil {
			t.Fatal(err)
		}
	}
}

func TestAppendAuditChain(t *testing.T) {
	s := openTest(t)
	before := time.Now().UTC().Truncate(time.Millisecond)
	events := appendEvents(t, s, 50)

	first := events[0]
	if first.Seq != 1 || first.PrevHash != GenesisHash || len(first.Hash) != 64 {
		t.Errorf("first event seq %d prev %q hash %q", first.Seq, first.PrevHash, first.Hash)
	}
	if first.Time.Before(before) || first.Time.Location() != time.UTC || first.Time.Nanosecond()%int(time.Millisecond) != 0 {
		t.Errorf("first event time %v, want UTC ms precision at or after %v", first.Time, before)
	}
	for i := 1; i < len(events); i++ {
		if events[i].Seq != int64(i+1) || events[i].PrevHash != events[i-1].Hash {
			t.Fatalf("event %d: seq %d prev %q, want seq %d linked to %q", i, events[i].Seq, events[i].PrevHash, i+1, events[i-1].Hash)
		}
	}

	checked, err := s.VerifyChain(context.Background())
	if err != nil || checked != 50 {
		t.Fatalf("VerifyChain = %d, %v; want 50, nil", checked, err)
	}
}

func TestListAuditMatchesAppended(t *testing.T) {
	s := openTest(t)
	appended := appendEvents(t, s, 3)

	listed, err := s.ListAudit(context.Background(), AuditFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(listed, appended) {
		t.Errorf("ListAudit =\n%+v\nwant\n%+v", listed, appended)
	}

	for _, e := range listed {
		if got := EventHash(e.PrevHash, e); got != e.Hash {
			t.Errorf("EventHash of listed event %d = %q, want stored %q", e.Seq, got, e.Hash)
		}
	}
}

func TestEventHashCoversFields(t *testing.T) {
	base := Event{Seq: 1, Time: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), Type: "query", Actor: "a",
		Org: "acme", RunID: testRunA, Job: "watch", Decision: "allow", Reason: "ok", Details: map[string]any{"rows": 1}}
	h := EventHash(GenesisHash, base)

	variants := map[string]func(e *Event){
		"seq":      func(e *Event) { e.Seq = 2 },
		"time":     func(e *Event) { e.Time = e.Time.Add(time.Millisecond) },
		"type":     func(e *Event) { e.Type = "query.rejected" },
		"actor":    func(e *Event) { e.Actor = "b" },
		"org":      func(e *Event) { e.Org = "globex" },
		"run":      func(e *Event) { e.RunID = testRunB },
		"job":      func(e *Event) { e.Job = "other" },
		"decision": func(e *Event) { e.Decision = "deny" },
		"reason":   func(e *Event) { e.Reason = "no" },
		"details":  func(e *Event) { e.Details = map[string]any{"rows": 2} },
	}
	for name, change := range variants {
		e := base
		change(&e)
		if EventHash(GenesisHash, e) == h {
			t.Errorf("changing %s does not change the hash", name)
		}
	}
	if EventHash("x", base) == h {
		t.Error("changing prev does not change the hash")
	}

	// Hash and PrevHash fields, the time zone and empty details in either
	// form do not change the hash.
	same := base
	same.Hash, same.PrevHash = "h", "p"
	same.Time = base.Time.In(time.FixedZone("x", 7200))
	if EventHash(GenesisHash, same) != h {
		t.Error("Hash, PrevHash or the time zone changed the hash")
	}
	empty1, empty2 := base, base
	empty1.Details, empty2.Details = nil, map[string]any{}
	if EventHash(GenesisHash, empty1) != EventHash(GenesisHash, empty2) {
		t.Error("nil and empty details hash differently")
	}
}

func TestVerifyChainDetectsTamperedReason(t *testing.T) {
	s := openTest(t)
	appendEvents(t, s, 50)
	dropAppendOnlyTriggers(t, s)

	if _, err := s.db.Exec(`UPDATE audit_events SET reason = 'nothing happened' WHERE seq = 23`); err != nil {
		t.Fatal(err)
	}
	wantChainBreak(t, s, 23)
}

func TestVerifyChainDetectsTamperedDetails(t *testing.T) {
	s := openTest(t)
	appendEvents(t, s, 10)
	dropAppendOnlyTriggers(t, s)

	if _, err := s.db.Exec(`UPDATE audit_events SET details = '{not json' WHERE seq = 4`); err != nil {
		t.Fatal(err)
	}
	wantChainBreak(t, s, 4)
}

func TestVerifyChainDetectsDeletedRow(t *testing.T) {
	s := openTest(t)
	appendEvents(t, s, 50)
	dropAppendOnlyTriggers(t, s)

	if _, err := s.db.Exec(`DELETE FROM audit_events WHERE seq = 17`); err != nil {
		t.Fatal(err)
	}
	wantChainBreak(t, s, 17)
}

func TestVerifyChainDetectsRehashedRow(t *testing.T) {
	s := openTest(t)
	events := appendEvents(t, s, 10)
	dropAppendOnlyTriggers(t, s)

	// An attacker who edits an event and recomputes its hash still breaks
	// the link from the next event.
	e := events[4]
	e.Reason = "forged"
	forged := EventHash(e.PrevHash, e)
	if _, err := s.db.Exec(`UPDATE audit_events SET reason = ?, hash = ? WHERE seq = 5`, e.Reason, forged); err != nil {
		t.Fatal(err)
	}
	wantChainBreak(t, s, 6)
}

func TestAuditAppendOnly(t *testing.T) {
	s := openTest(t)
	appendEvents(t, s, 2)

	_, err := s.db.Exec(`UPDATE audit_events SET reason = 'x' WHERE seq = 1`)
	wantErr(t, err, nil, "append-only")
	_, err = s.db.Exec(`DELETE FROM audit_events WHERE seq = 2`)
	wantErr(t, err, nil, "append-only")
}

func TestVerifyChainEmpty(t *testing.T) {
	s := openTest(t)
	checked, err := s.VerifyChain(context.Background())
	if err != nil || checked != 0 {
		t.Errorf("VerifyChain on an empty log = %d, %v; want 0, nil", checked, err)
	}
}

func TestAppendAuditNormalisesDetails(t *testing.T) {
	s := openTest(t)
	type payload struct {
		Zeta  string
		Alpha int
	}
	e, err := s.AppendAudit(context.Background(), Event{Type: "query", Actor: testActor,
		Details: map[string]any{"p": payload{Zeta: "z", Alpha: 1}}})
	if err != nil {
		t.Fatal(err)
	}
	if EventHash(e.PrevHash, e) != e.Hash {
		t.Error("EventHash of the returned event does not match its hash")
	}
	if _, ok := e.Details["p"].(map[string]any); !ok {
		t.Errorf("returned struct detail is %T, want map[string]any", e.Details["p"])
	}

	_, err = s.AppendAudit(context.Background(), Event{Type: "query", Actor: testActor,
		Details: map[string]any{"c": make(chan int)}})
	wantErr(t, err, nil, `audit event "query" has details that are not JSON`)
}

func TestAppendAuditErrors(t *testing.T) {
	s := openTest(t)
	ctx := context.Background()

	_, err := s.AppendAudit(ctx, Event{Actor: testActor})
	wantErr(t, err, nil, "audit event has no type")
	_, err = s.AppendAudit(ctx, Event{Type: "query"})
	wantInvalid(t, err, "")
	_, err = s.AppendAudit(ctx, Event{Type: "query", Actor: testActor, Org: "Acme"})
	wantInvalid(t, err, "Acme")
	_, err = s.AppendAudit(ctx, Event{Type: "query", Actor: testActor, RunID: "run-1"})
	wantInvalid(t, err, "run-1")
	_, err = s.AppendAudit(ctx, Event{Type: "query", Actor: testActor, Job: "J"})
	wantInvalid(t, err, "J")

	checked, err := s.VerifyChain(ctx)
	if err != nil || checked != 0 {
		t.Errorf("rejected events were stored: VerifyChain = %d, %v", checked, err)
	}
}

func TestListAuditFilters(t *testing.T) {
	s := openTest(t)
	ctx := context.Background()
	add := func(org, run string) {
		t.Helper()
		if _, err := s.AppendAudit(ctx, Event{Type: "t", Actor: testActor, Org: org, RunID: run}); err != nil {
			t.Fatal(err)
		}
	}
	add("acme", testRunA)
	add("globex", testRunB)
	add("acme", "")
	add("acme", testRunA)

	check := func(name string, f AuditFilter, want ...int64) {
		t.Helper()
		list, err := s.ListAudit(ctx, f)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		var got []int64
		for _, e := range list {
			got = append(got, e.Seq)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: seqs %v, want %v", name, got, want)
		}
	}
	check("all", AuditFilter{}, 1, 2, 3, 4)
	check("run", AuditFilter{RunID: testRunA}, 1, 4)
	check("org", AuditFilter{Org: "acme"}, 1, 3, 4)
	check("org and run", AuditFilter{Org: "globex", RunID: testRunA})
	check("limit", AuditFilter{Org: "acme", Limit: 2}, 1, 3)

	_, err := s.ListAudit(ctx, AuditFilter{RunID: "x"})
	wantInvalid(t, err, "x")
	_, err = s.ListAudit(ctx, AuditFilter{Limit: -2})
	wantErr(t, err, nil, "invalid audit limit -2")
}
