package store

import (
	"context"
	"testing"
)

func TestWebhookSetGet(t *testing.T) {
	s := openTest(t)
	ctx := context.Background()
	seedJob(t, s, "acme")

	w := Webhook{Org: "acme", Name: "alerts", URL: "https://hooks.example.com/a"}
	if err := s.SetWebhook(ctx, testActor, w); err != nil {
		t.Fatal(err)
	}
	w.URL = "https://hooks.example.com/b"
	if err := s.SetWebhook(ctx, "bob", w); err != nil {
		t.Fatal(err)
	}

	got, err := s.GetWebhook(ctx, "acme", "alerts")
	if err != nil {
		t.Fatal(err)
	}
	if got.URL != "https://hooks.example.com/b" || got.CreatedBy != "bob" || got.Org != "acme" || got.Name != "alerts" {
		t.Errorf("GetWebhook = %+v, want the second URL set by bob", got)
	}
}

func TestWebhookErrors(t *testing.T) {
	s := openTest(t)
	ctx := context.Background()
	seedJob(t, s, "acme")
	seedJob(t, s, "globex")
	if err := s.SetWebhook(ctx, testActor, Webhook{Org: "globex", Name: "alerts", URL: "https://x.example.com/"}); err != nil {
		t.Fatal(err)
	}

	_, err := s.GetWebhook(ctx, "acme", "alerts")
	wantErr(t, err, ErrNotFound, `webhook "alerts" of org "acme" not found`)

	err = s.SetWebhook(ctx, testActor, Webhook{Org: "acme", Name: "alerts", URL: "ftp://x.example.com/"})
	wantErr(t, err, nil, `invalid URL "ftp://x.example.com/"`)

	err = s.SetWebhook(ctx, testActor, Webhook{Org: "acme", Name: "alerts", URL: "/relative"})
	wantErr(t, err, nil, `invalid URL "/relative"`)

	err = s.SetWebhook(ctx, testActor, Webhook{Org: "ghost", Name: "alerts", URL: "https://x.example.com/"})
	wantErr(t, err, ErrNotFound, `org "ghost" not found`)

	err = s.SetWebhook(ctx, testActor, Webhook{Org: "acme", Name: "Alerts!", URL: "https://x.example.com/"})
	wantInvalid(t, err, "Alerts!")

	_, err = s.GetWebhook(ctx, "acme", "Alerts!")
	wantInvalid(t, err, "Alerts!")
}

func TestEnsureJob(t *testing.T) {
	s := openTest(t)
	ctx := context.Background()
	seedJob(t, s, "acme")

	if err := s.EnsureJob(ctx, testActor, Job{Org: "acme", Name: "watch", Kind: "alert"}); err != nil {
		t.Fatalf("ensuring the same job again: %v", err)
	}

	err := s.EnsureJob(ctx, testActor, Job{Org: "acme", Name: "watch", Kind: "transform"})
	wantErr(t, err, ErrExists, `job "watch" of org "acme"`, `"alert"`, `"transform"`)

	err = s.EnsureJob(ctx, testActor, Job{Org: "ghost", Name: "watch", Kind: "alert"})
	wantErr(t, err, ErrNotFound, `org "ghost" not found`)

	err = s.EnsureJob(ctx, testActor, Job{Org: "acme", Name: "../x", Kind: "alert"})
	wantInvalid(t, err, "../x")

	err = s.EnsureJob(ctx, testActor, Job{Org: "acme", Name: "other", Kind: ""})
	wantInvalid(t, err, "")
}

func TestPutBundleVersion(t *testing.T) {
	s := openTest(t)
	ctx := context.Background()
	seedJob(t, s, "acme")

	b := BundleVersion{Org: "acme", Job: "watch", Digest: testDigest, Path: "bundles/acme/watch/1111",
		Manifest: []byte("name: watch\n"), SizeBytes: 42}
	if err := s.PutBundleVersion(ctx, testActor, b); err != nil {
		t.Fatal(err)
	}
	b.Path = "bundles/elsewhere"
	if err := s.PutBundleVersion(ctx, "bob", b); err != nil {
		t.Fatalf("recording the same digest again: %v", err)
	}

	var path, by string
	var manifest []byte
	var size int64
	err := s.db.QueryRow(`SELECT path, manifest, size_bytes, created_by FROM bundle_versions WHERE digest = ?`, testDigest).
		Scan(&path, &manifest, &size, &by)
	if err != nil {
		t.Fatal(err)
	}
	if path != "bundles/acme/watch/1111" || string(manifest) != "name: watch\n" || size != 42 || by != testActor {
		t.Errorf("stored version = %q %q %d %q, want the first record", path, manifest, size, by)
	}
}

func TestPutBundleVersionErrors(t *testing.T) {
	s := openTest(t)
	ctx := context.Background()
	seedJob(t, s, "acme")
	ok := BundleVersion{Org: "acme", Job: "watch", Digest: testDigest, Path: "bundles/x"}

	bad := ok
	bad.Digest = "sha256:ABC"
	err := s.PutBundleVersion(ctx, testActor, bad)
	wantInvalid(t, err, "sha256:ABC")

	bad = ok
	bad.Digest = "md5:" + testDigest[7:]
	err = s.PutBundleVersion(ctx, testActor, bad)
	wantInvalid(t, err, bad.Digest)

	bad = ok
	bad.Path = "../bundles"
	err = s.PutBundleVersion(ctx, testActor, bad)
	wantErr(t, err, nil, `invalid path "../bundles"`)

	bad = ok
	bad.Job = "ghost"
	err = s.PutBundleVersion(ctx, testActor, bad)
	wantErr(t, err, ErrNotFound, `job "ghost" of org "acme" not found`)
}
