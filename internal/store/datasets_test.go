package store

import (
	"context"
	"reflect"
	"testing"
)

func putDataset(t *testing.T, s *SQLite, org, name, path string) {
	t.Helper()
	d := Dataset{Org: org, Name: name, Path: path, Rows: 10, Bytes: 100,
		Schema: []Column{{Name: "address", Type: "VARCHAR"}}}
	if err := s.PutDataset(context.Background(), testActor, d); err != nil {
		t.Fatalf("PutDataset(%q, %q): %v", org, name, err)
	}
}

func TestDatasetRoundTrip(t *testing.T) {
	s := openTest(t)
	ctx := context.Background()
	seedJob(t, s, "acme")

	want := Dataset{Org: "acme", Name: "watchlist", Path: "orgs/acme/watchlist", Rows: 3, Bytes: 512,
		Schema: []Column{{Name: "address", Type: "VARCHAR"}, {Name: "weight", Type: "DOUBLE"}}}
	if err := s.PutDataset(ctx, testActor, want); err != nil {
		t.Fatal(err)
	}

	got, err := s.GetDataset(ctx, "acme", "watchlist")
	if err != nil {
		t.Fatal(err)
	}
	if got.CreatedBy != testActor || got.CreatedAt.IsZero() {
		t.Errorf("CreatedBy, CreatedAt = %q, %v", got.CreatedBy, got.CreatedAt)
	}
	got.CreatedBy, got.CreatedAt = "", want.CreatedAt
	if !reflect.DeepEqual(got, want) {
		t.Errorf("GetDataset = %+v, want %+v", got, want)
	}
}

func TestPutDatasetReplaces(t *testing.T) {
	s := openTest(t)
	ctx := context.Background()

	putDataset(t, s, "", "ethereum.blocks", "public/blocks")
	d := Dataset{Name: "ethereum.blocks", Path: "public/blocks-v2", Rows: 99, Bytes: 999}
	if err := s.PutDataset(ctx, "bob", d); err != nil {
		t.Fatal(err)
	}

	got, err := s.GetDataset(ctx, "", "ethereum.blocks")
	if err != nil {
		t.Fatal(err)
	}
	if got.Path != "public/blocks-v2" || got.Rows != 99 || got.Bytes != 999 || got.CreatedBy != "bob" || got.Schema != nil {
		t.Errorf("replaced dataset = %+v", got)
	}
}

func TestGetDatasetIsolation(t *testing.T) {
	s := openTest(t)
	ctx := context.Background()
	seedJob(t, s, "acme")
	seedJob(t, s, "globex")
	putDataset(t, s, "globex", "watchlist", "orgs/globex/watchlist")

	_, err := s.GetDataset(ctx, "acme", "watchlist")
	wantErr(t, err, ErrNotFound, `dataset "watchlist" for org "acme" not found`)

	_, err = s.GetDataset(ctx, "", "watchlist")
	wantErr(t, err, ErrNotFound, `dataset "watchlist"`)

	got, err := s.GetDataset(ctx, "globex", "watchlist")
	if err != nil {
		t.Fatal(err)
	}
	if got.Org != "globex" || got.Path != "orgs/globex/watchlist" {
		t.Errorf("owner's GetDataset = %+v", got)
	}
}

func TestGetDatasetPublicFallback(t *testing.T) {
	s := openTest(t)
	ctx := context.Background()
	seedJob(t, s, "acme")
	putDataset(t, s, "", "ethereum.transactions", "public/transactions")

	got, err := s.GetDataset(ctx, "acme", "ethereum.transactions")
	if err != nil {
		t.Fatal(err)
	}
	if got.Org != "" || got.Path != "public/transactions" {
		t.Errorf("public fallback = %+v, want the public dataset", got)
	}
}

func TestGetDatasetOrgShadowsPublic(t *testing.T) {
	s := openTest(t)
	ctx := context.Background()
	seedJob(t, s, "acme")
	seedJob(t, s, "globex")
	putDataset(t, s, "", "labels", "public/labels")
	putDataset(t, s, "acme", "labels", "orgs/acme/labels")

	got, err := s.GetDataset(ctx, "acme", "labels")
	if err != nil {
		t.Fatal(err)
	}
	if got.Org != "acme" || got.Path != "orgs/acme/labels" {
		t.Errorf("acme GetDataset = %+v, want acme's own", got)
	}

	got, err = s.GetDataset(ctx, "globex", "labels")
	if err != nil {
		t.Fatal(err)
	}
	if got.Org != "" || got.Path != "public/labels" {
		t.Errorf("globex GetDataset = %+v, want the public one", got)
	}
}

func TestListDatasets(t *testing.T) {
	s := openTest(t)
	ctx := context.Background()
	seedJob(t, s, "acme")
	seedJob(t, s, "globex")
	putDataset(t, s, "", "labels", "public/labels")
	putDataset(t, s, "", "blocks", "public/blocks")
	putDataset(t, s, "acme", "labels", "orgs/acme/labels")
	putDataset(t, s, "globex", "secret", "orgs/globex/secret")

	list, err := s.ListDatasets(ctx, "acme")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, d := range list {
		got = append(got, d.Org+"/"+d.Name)
	}
	want := []string{"/blocks", "/labels", "acme/labels"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("ListDatasets(acme) = %v, want %v", got, want)
	}

	list, err = s.ListDatasets(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 {
		t.Errorf("ListDatasets(\"\") returned %d datasets, want the 2 public ones", len(list))
	}

	_, err = s.ListDatasets(ctx, "Bad")
	wantInvalid(t, err, "Bad")
}

func TestPutDatasetErrors(t *testing.T) {
	s := openTest(t)
	ctx := context.Background()
	seedJob(t, s, "acme")

	cases := []struct {
		name      string
		d         Dataset
		fragments []string
	}{
		{"bad name", Dataset{Name: "ethereum-blocks", Path: "p"}, []string{`"ethereum-blocks"`}},
		{"bad org", Dataset{Org: "Acme", Name: "x", Path: "p"}, []string{`"Acme"`}},
		{"absolute path", Dataset{Name: "x", Path: "/etc"}, []string{`invalid path "/etc"`}},
		{"escaping path", Dataset{Name: "x", Path: "orgs/../../etc"}, []string{`invalid path "orgs/../../etc"`}},
		{"empty path", Dataset{Name: "x"}, []string{`invalid path ""`}},
		{"negative rows", Dataset{Name: "x", Path: "p", Rows: -1}, []string{"negative rows"}},
		{"empty column", Dataset{Name: "x", Path: "p", Schema: []Column{{Name: "a"}}}, []string{"column 0"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := s.PutDataset(ctx, testActor, c.d)
			wantErr(t, err, nil, c.fragments...)
		})
	}

	err := s.PutDataset(ctx, testActor, Dataset{Org: "ghost", Name: "x", Path: "p"})
	wantErr(t, err, ErrNotFound, `org "ghost" not found`)

	err = s.PutDataset(ctx, "", Dataset{Name: "x", Path: "p"})
	wantInvalid(t, err, "")

	_, err = s.GetDataset(ctx, "acme", "no_such")
	wantErr(t, err, ErrNotFound, `dataset "no_such" for org "acme" not found`)

	_, err = s.GetDataset(ctx, "acme", "a.b.c")
	wantInvalid(t, err, "a.b.c")
}
