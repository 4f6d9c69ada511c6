package store

import (
	"context"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"path/filepath"
	"strings"
	"time"

	"github.com/moatdev/moat/internal/ids"
)

// SetWebhook inserts or replaces the destination URL of the org's webhook
// w.Name. The URL must be absolute http or https; whether its host may be
// reached is decided at delivery time by the egress checks, not here.
func (s *SQLite) SetWebhook(ctx context.Context, actor string, w Webhook) error {
	if err := validateWebhook(actor, w); err != nil {
		return err
	}

	return s.write(ctx, func(tx *sql.Tx) error {
		if err := requireOrg(ctx, tx, w.Org); err != nil {
			return err
		}

		_, err := tx.ExecContext(ctx, `INSERT INTO webhooks (org, name, url, created_by, created_at) VALUES (?, ?, ?, ?, ?)
			ON CONFLICT (org, name) DO UPDATE SET url = excluded.url,
				created_by = excluded.created_by, created_at = excluded.created_at`,
			w.Org, w.Name, w.URL, actor, formatTime(time.Now()))
		if err != nil {
			return fmt.Errorf("set webhook %q of org %q: %w", w.Name, w.Org, err)
		}
		return nil
	})
}

func validateWebhook(actor string, w Webhook) error {
	if err := validateActor(actor); err != nil {
		return err
	}
	if err := ids.ValidateName("org", w.Org); err != nil {
		return err
	}
	if err := ids.ValidateName("webhook", w.Name); err != nil {
		return err
	}

	u, err := url.Parse(w.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("webhook %q has invalid URL %q: use an absolute http:// or https:// URL", w.Name, w.URL)
	}
	return nil
}

// GetWebhook returns the org's webhook or ErrNotFound.
func (s *SQLite) GetWebhook(ctx context.Context, org, name string) (Webhook, error) {
	if err := ids.ValidateName("org", org); err != nil {
		return Webhook{}, err
	}
	if err := ids.ValidateName("webhook", name); err != nil {
		return Webhook{}, err
	}

	row := s.db.QueryRowContext(ctx,
		`SELECT org, name, url, created_by, created_at FROM webhooks WHERE org = ? AND name = ?`, org, name)

	var w Webhook
	var created string
	if err := row.Scan(&w.Org, &w.Name, &w.URL, &w.CreatedBy, &created); err != nil {
		return Webhook{}, notFound(err, fmt.Sprintf("webhook %q of org %q", name, org))
	}

	t, err := parseTime(created)
	w.CreatedAt = t
	return w, err
}

// EnsureJob creates the job unless it exists. An existing job of another
// kind is an ErrExists error: a job's kind decides what it may do, so it is
// not changed by a side effect.
func (s *SQLite) EnsureJob(ctx context.Context, actor string, j Job) error {
	if err := validateJob(actor, j); err != nil {
		return err
	}

	return s.write(ctx, func(tx *sql.Tx) error {
		if err := requireOrg(ctx, tx, j.Org); err != nil {
			return err
		}

		var kind string
		err := tx.QueryRowContext(ctx, `SELECT kind FROM jobs WHERE org = ? AND name = ?`, j.Org, j.Name).Scan(&kind)
		switch {
		case err == nil && kind == j.Kind:
			return nil
		case err == nil:
			return fmt.Errorf("job %q of org %q %w with kind %q (requested %q): use another job name", j.Name, j.Org, ErrExists, kind, j.Kind)
		case !errors.Is(err, sql.ErrNoRows):
			return fmt.Errorf("look up job %q of org %q: %w", j.Name, j.Org, err)
		}

		_, err = tx.ExecContext(ctx, `INSERT INTO jobs (org, name, kind, created_by, created_at) VALUES (?, ?, ?, ?, ?)`,
			j.Org, j.Name, j.Kind, actor, formatTime(time.Now()))
		if err != nil {
			return fmt.Errorf("insert job %q of org %q: %w", j.Name, j.Org, err)
		}
		return nil
	})
}

func validateJob(actor string, j Job) error {
	if err := validateActor(actor); err != nil {
		return err
	}
	if err := ids.ValidateName("org", j.Org); err != nil {
		return err
	}
	if err := ids.ValidateName("job", j.Name); err != nil {
		return err
	}
	return ids.ValidateName("job kind", j.Kind)
}

// PutBundleVersion records a bundle version of an existing job. Recording a
// digest the job already has is not an error and keeps the first record,
// because a digest names immutable content.
func (s *SQLite) PutBundleVersion(ctx context.Context, actor string, b BundleVersion) error {
	if err := validateBundleVersion(actor, b); err != nil {
		return err
	}

	return s.write(ctx, func(tx *sql.Tx) error {
		if err := requireJob(ctx, tx, b.Org, b.Job); err != nil {
			return err
		}

		_, err := tx.ExecContext(ctx, `INSERT INTO bundle_versions
			(org, job, digest, path, manifest, size_bytes, created_by, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (org, job, digest) DO NOTHING`,
			b.Org, b.Job, b.Digest, b.Path, b.Manifest, b.SizeBytes, actor, formatTime(time.Now()))
		if err != nil {
			return fmt.Errorf("insert bundle version %q of job %q: %w", b.Digest, b.Job, err)
		}
		return nil
	})
}

func validateBundleVersion(actor string, b BundleVersion) error {
	if err := validateActor(actor); err != nil {
		return err
	}
	if err := ids.ValidateName("org", b.Org); err != nil {
		return err
	}
	if err := ids.ValidateName("job", b.Job); err != nil {
		return err
	}
	if err := validateDigest(b.Digest); err != nil {
		return err
	}

	if !filepath.IsLocal(b.Path) {
		return fmt.Errorf("bundle version %q has invalid path %q: use a relative path inside the data directory without '..'", b.Digest, b.Path)
	}
	if b.SizeBytes < 0 {
		return fmt.Errorf("bundle version %q has negative size %d", b.Digest, b.SizeBytes)
	}
	return nil
}

// validateDigest checks the "sha256:" + 64 lowercase hex form.
func validateDigest(d string) error {
	hexPart, ok := strings.CutPrefix(d, "sha256:")
	_, err := hex.DecodeString(hexPart)
	if !ok || len(hexPart) != 64 || err != nil || strings.ToLower(hexPart) != hexPart {
		return fmt.Errorf("%w: digest %q: use \"sha256:\" followed by 64 lowercase hex digits", ids.ErrInvalid, d)
	}
	return nil
}
