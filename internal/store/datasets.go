package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"path/filepath"
	"time"

	"github.com/moatdev/moat/internal/ids"
)

const datasetColumns = `org, name, path, schema, rows, bytes, created_by, created_at`

// PutDataset inserts or replaces the dataset (d.Org, d.Name). d.Org is empty
// for a public dataset; any other org must exist. d.Path must be a relative
// path that stays inside the data directory, because the gateway grants
// exactly that directory to queries.
func (s *SQLite) PutDataset(ctx context.Context, actor string, d Dataset) error {
	if err := validateDataset(actor, d); err != nil {
		return err
	}

	schema, err := json.Marshal(d.Schema)
	if err != nil {
		return fmt.Errorf("encode schema of dataset %q: %w", d.Name, err)
	}

	return s.write(ctx, func(tx *sql.Tx) error {
		if d.Org != "" {
			if err := requireOrg(ctx, tx, d.Org); err != nil {
				return err
			}
		}

		_, err := tx.ExecContext(ctx, `INSERT INTO datasets (`+datasetColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (org, name) DO UPDATE SET path = excluded.path, schema = excluded.schema,
				rows = excluded.rows, bytes = excluded.bytes,
				created_by = excluded.created_by, created_at = excluded.created_at`,
			d.Org, d.Name, d.Path, string(schema), d.Rows, d.Bytes, actor, formatTime(time.Now()))
		if err != nil {
			return fmt.Errorf("put dataset %q of org %q: %w", d.Name, d.Org, err)
		}
		return nil
	})
}

func validateDataset(actor string, d Dataset) error {
	if err := validateActor(actor); err != nil {
		return err
	}
	if d.Org != "" {
		if err := ids.ValidateName("org", d.Org); err != nil {
			return err
		}
	}
	if err := ids.ValidateDataset(d.Name); err != nil {
		return err
	}

	// filepath.IsLocal rejects "", absolute paths and any path that
	// escapes with "..", so a dataset cannot grant a directory outside
	// the data directory.
	if !filepath.IsLocal(d.Path) {
		return fmt.Errorf("dataset %q has invalid path %q: use a relative path inside the data directory without '..'", d.Name, d.Path)
	}
	if d.Rows < 0 || d.Bytes < 0 {
		return fmt.Errorf("dataset %q has negative rows (%d) or bytes (%d)", d.Name, d.Rows, d.Bytes)
	}
	for i, c := range d.Schema {
		if c.Name == "" || c.Type == "" {
			return fmt.Errorf("dataset %q column %d has an empty name or type: give each column both", d.Name, i)
		}
	}
	return nil
}

// GetDataset returns org's own dataset of that name, else the public one
// (empty org). It never returns a dataset of another org. An empty org reads
// only public datasets.
func (s *SQLite) GetDataset(ctx context.Context, org, name string) (Dataset, error) {
	if org != "" {
		if err := ids.ValidateName("org", org); err != nil {
			return Dataset{}, err
		}
	}
	if err := ids.ValidateDataset(name); err != nil {
		return Dataset{}, err
	}

	// Sorting by org DESC puts the org's own row before the public one
	// (empty org), which is how an org dataset shadows a public one.
	row := s.db.QueryRowContext(ctx, `SELECT `+datasetColumns+` FROM datasets
		WHERE name = ? AND org IN (?, '') ORDER BY org DESC LIMIT 1`, name, org)
	d, err := scanDataset(row)
	if err != nil {
		return Dataset{}, notFound(err, fmt.Sprintf("dataset %q for org %q", name, org))
	}
	return d, nil
}

// ListDatasets returns the public datasets and those of org, ordered by
// name, the public one first where both have a dataset of one name.
func (s *SQLite) ListDatasets(ctx context.Context, org string) ([]Dataset, error) {
	if org != "" {
		if err := ids.ValidateName("org", org); err != nil {
			return nil, err
		}
	}

	rows, err := s.db.QueryContext(ctx, `SELECT `+datasetColumns+` FROM datasets
		WHERE org IN (?, '') ORDER BY name, org`, org)
	if err != nil {
		return nil, fmt.Errorf("list datasets of org %q: %w", org, err)
	}
	defer rows.Close()

	var out []Dataset
	for rows.Next() {
		d, err := scanDataset(rows)
		if err != nil {
			return nil, fmt.Errorf("list datasets of org %q: %w", org, err)
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

func scanDataset(row scanner) (Dataset, error) {
	var d Dataset
	var schema, created string
	err := row.Scan(&d.Org, &d.Name, &d.Path, &schema, &d.Rows, &d.Bytes, &d.CreatedBy, &created)
	if err != nil {
		return Dataset{}, err
	}

	if err := json.Unmarshal([]byte(schema), &d.Schema); err != nil {
		return Dataset{}, fmt.Errorf("decode schema of dataset %q: %w", d.Name, err)
	}

	d.CreatedAt, err = parseTime(created)
	return d, err
}
