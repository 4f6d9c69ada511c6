package store

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestOpenCreatesPrivateFiles(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a", "b")
	path := filepath.Join(dir, "moat.db")
	openAt(t, path)

	di, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got := di.Mode().Perm(); got != 0o700 {
		t.Errorf("directory mode = %o, want 700", got)
	}

	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := fi.Mode().Perm(); got != 0o600 {
		t.Errorf("database file mode = %o, want 600", got)
	}
}

func TestOpenUsesWAL(t *testing.T) {
	s := openTest(t)

	var mode string
	if err := s.db.QueryRow(`PRAGMA journal_mode`).Scan(&mode); err != nil {
		t.Fatal(err)
	}
	if mode != "wal" {
		t.Errorf("journal_mode = %q, want wal", mode)
	}

	var fk int
	if err := s.db.QueryRow(`PRAGMA foreign_keys`).Scan(&fk); err != nil {
		t.Fatal(err)
	}
	if fk != 1 {
		t.Errorf("foreign_keys = %d, want 1", fk)
	}
}

func TestOpenPathWithQuestionMark(t *testing.T) {
	path := filepath.Join(t.TempDir(), "odd?_txlock=deferred#x", "moat.db")
	s := openAt(t, path)

	if _, err := s.EnsureOrg(context.Background(), testActor, "acme"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); err != nil {
		t.Errorf("database not at the literal path: %v", err)
	}
}

func TestOpenEmptyPath(t *testing.T) {
	_, err := Open(context.Background(), "")
	wantErr(t, err, nil, "database path is empty")
}

func TestEnsureOrg(t *testing.T) {
	s := openTest(t)
	ctx := context.Background()
	before := time.Now().UTC()

	created, err := s.EnsureOrg(ctx, testActor, "acme")
	if err != nil || !created {
		t.Fatalf("first EnsureOrg = %v, %v; want true, nil", created, err)
	}
	created, err = s.EnsureOrg(ctx, "bob", "acme")
	if err != nil || created {
		t.Fatalf("second EnsureOrg = %v, %v; want false, nil", created, err)
	}

	o, err := s.GetOrg(ctx, "acme")
	if err != nil {
		t.Fatal(err)
	}
	if o.Name != "acme" || o.CreatedBy != testActor {
		t.Errorf("GetOrg = %+v, want acme created by %s", o, testActor)
	}
	if o.CreatedAt.Location() != time.UTC || o.CreatedAt.Before(before.Truncate(time.Microsecond)) {
		t.Errorf("CreatedAt = %v, want UTC at or after %v", o.CreatedAt, before)
	}
}

func TestEnsureOrgInvalid(t *testing.T) {
	s := openTest(t)
	ctx := context.Background()

	_, err := s.EnsureOrg(ctx, testActor, "Acme Corp")
	wantInvalid(t, err, "Acme Corp")

	_, err = s.EnsureOrg(ctx, "", "acme")
	wantInvalid(t, err, "")
}

func TestGetOrgErrors(t *testing.T) {
	s := openTest(t)
	ctx := context.Background()

	_, err := s.GetOrg(ctx, "nobody")
	wantErr(t, err, ErrNotFound, `org "nobody" not found`)

	_, err = s.GetOrg(ctx, "../etc")
	wantInvalid(t, err, "../etc")
}

func TestListOrgs(t *testing.T) {
	s := openTest(t)
	ctx := context.Background()

	orgs, err := s.ListOrgs(ctx)
	if err != nil || len(orgs) != 0 {
		t.Fatalf("ListOrgs on empty store = %v, %v", orgs, err)
	}

	for _, name := range []string{"zeta", "acme", "mid"} {
		if _, err := s.EnsureOrg(ctx, testActor, name); err != nil {
			t.Fatal(err)
		}
	}
	orgs, err = s.ListOrgs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, o := range orgs {
		names = append(names, o.Name)
	}
	if len(names) != 3 || names[0] != "acme" || names[1] != "mid" || names[2] != "zeta" {
		t.Errorf("ListOrgs names = %v, want [acme mid zeta]", names)
	}
}

func TestEnsurePrincipal(t *testing.T) {
	s := openTest(t)
	ctx := context.Background()
	seedJob(t, s, "acme")

	p := Principal{Name: "dev1", Role: RoleDeveloper, Org: "acme"}
	if err := s.EnsurePrincipal(ctx, testActor, p); err != nil {
		t.Fatal(err)
	}
	if err := s.EnsurePrincipal(ctx, "bob", p); err != nil {
		t.Fatalf("ensuring the same principal again: %v", err)
	}

	got, err := s.GetPrincipal(ctx, "dev1")
	if err != nil {
		t.Fatal(err)
	}
	if got.Name != "dev1" || got.Role != RoleDeveloper || got.Org != "acme" || got.CreatedBy != testActor {
		t.Errorf("GetPrincipal = %+v", got)
	}
	if got.CreatedAt.IsZero() || got.CreatedAt.Location() != time.UTC {
		t.Errorf("CreatedAt = %v, want a UTC time", got.CreatedAt)
	}

	admin := Principal{Name: "root", Role: RolePlatformAdmin}
	if err := s.EnsurePrincipal(ctx, testActor, admin); err != nil {
		t.Fatalf("platform admin: %v", err)
	}
}

func TestEnsurePrincipalRoleChangeRejected(t *testing.T) {
	s := openTest(t)
	ctx := context.Background()
	seedJob(t, s, "acme")

	if err := s.EnsurePrincipal(ctx, testActor, Principal{Name: "dev1", Role: RoleDeveloper, Org: "acme"}); err != nil {
		t.Fatal(err)
	}
	err := s.EnsurePrincipal(ctx, testActor, Principal{Name: "dev1", Role: RoleOrgAdmin, Org: "acme"})
	wantErr(t, err, ErrExists, `principal "dev1"`, `"developer"`, `"org-admin"`)

	got, err := s.GetPrincipal(ctx, "dev1")
	if err != nil {
		t.Fatal(err)
	}
	if got.Role != RoleDeveloper {
		t.Errorf("role after rejected change = %q, want developer", got.Role)
	}
}

func TestEnsurePrincipalErrors(t *testing.T) {
	s := openTest(t)
	ctx := context.Background()
	seedJob(t, s, "acme")

	err := s.EnsurePrincipal(ctx, testActor, Principal{Name: "dev1", Role: "superuser", Org: "acme"})
	wantErr(t, err, nil, `invalid role "superuser"`)

	err = s.EnsurePrincipal(ctx, testActor, Principal{Name: "Dev 1", Role: RoleDeveloper, Org: "acme"})
	wantInvalid(t, err, "Dev 1")

	err = s.EnsurePrincipal(ctx, testActor, Principal{Name: "dev1", Role: RoleDeveloper, Org: "ghost"})
	wantErr(t, err, ErrNotFound, `org "ghost" not found`)

	err = s.EnsurePrincipal(ctx, testActor, Principal{Name: "dev1", Role: RoleDeveloper})
	wantErr(t, err, nil, `principal "dev1"`, "has no org")

	err = s.EnsurePrincipal(ctx, testActor, Principal{Name: "root", Role: RolePlatformAdmin, Org: "acme"})
	wantErr(t, err, nil, `principal "root"`, "platform-wide")

	err = s.EnsurePrincipal(ctx, "", Principal{Name: "dev1", Role: RoleDeveloper, Org: "acme"})
	wantInvalid(t, err, "")
}

func TestGetPrincipalErrors(t *testing.T) {
	s := openTest(t)
	ctx := context.Background()

	_, err := s.GetPrincipal(ctx, "ghost")
	wantErr(t, err, ErrNotFound, `principal "ghost" not found`)

	_, err = s.GetPrincipal(ctx, "GHOST")
	wantInvalid(t, err, "GHOST")
}

func TestListPrincipalsOrderedByName(t *testing.T) {
	s := openTest(t)
	ctx := context.Background()
	if _, err := s.EnsureOrg(ctx, "admin", "acme"); err != nil {
		t.Fatal(err)
	}
	for _, p := range []Principal{
		{Name: "zed", Role: RoleDeveloper, Org: "acme"},
		{Name: "amy", Role: RolePlatformAdmin},
	} {
		if err := s.EnsurePrincipal(ctx, "admin", p); err != nil {
			t.Fatal(err)
		}
	}

	ps, err := s.ListPrincipals(ctx)
	if err != nil {
		t.Fatal(err)
	}

	if len(ps) != 2 || ps[0].Name != "amy" || ps[1].Name != "zed" {
		t.Fatalf("principals = %+v, want amy then zed", ps)
	}
	if ps[1].Role != RoleDeveloper || ps[1].Org != "acme" || ps[1].CreatedBy != "admin" {
		t.Errorf("zed = %+v, want developer of acme created by admin", ps[1])
	}
}
