package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/moatdev/moat/internal/ids"
)

// EnsureOrg creates the org unless it exists; created reports which.
func (s *SQLite) EnsureOrg(ctx context.Context, actor, name string) (created bool, err error) {
	if err := validateActor(actor); err != nil {
		return false, err
	}
	if err := ids.ValidateName("org", name); err != nil {
		return false, err
	}

	res, err := s.db.ExecContext(ctx,
		`INSERT INTO orgs (name, created_by, created_at) VALUES (?, ?, ?) ON CONFLICT (name) DO NOTHING`,
		name, actor, formatTime(time.Now()))
	if err != nil {
		return false, fmt.Errorf("insert org %q: %w", name, err)
	}

	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("insert org %q: %w", name, err)
	}
	return n == 1, nil
}

// GetOrg returns the org or ErrNotFound.
func (s *SQLite) GetOrg(ctx context.Context, name string) (Org, error) {
	if err := ids.ValidateName("org", name); err != nil {
		return Org{}, err
	}

	row := s.db.QueryRowContext(ctx, `SELECT name, created_by, created_at FROM orgs WHERE name = ?`, name)
	o, err := scanOrg(row)
	if err != nil {
		return Org{}, notFound(err, fmt.Sprintf("org %q", name))
	}
	return o, nil
}

// ListOrgs returns every org ordered by name.
func (s *SQLite) ListOrgs(ctx context.Context) ([]Org, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT name, created_by, created_at FROM orgs ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("list orgs: %w", err)
	}
	defer rows.Close()

	var out []Org
	for rows.Next() {
		o, err := scanOrg(rows)
		if err != nil {
			return nil, fmt.Errorf("list orgs: %w", err)
		}
		out = append(out, o)
	}
	return out, rows.Err()
}

func scanOrg(row scanner) (Org, error) {
	var o Org
	var created string
	if err := row.Scan(&o.Name, &o.CreatedBy, &created); err != nil {
		return Org{}, err
	}

	t, err := parseTime(created)
	o.CreatedAt = t
	return o, err
}

// EnsurePrincipal creates the principal unless it exists. An existing
// principal with another role or org is an ErrExists error, because a role
// change must be an explicit, audited decision and never a side effect of
// "ensure". Org-admins and developers belong to an existing org;
// platform-admins are platform-wide (empty org).
func (s *SQLite) EnsurePrincipal(ctx context.Context, actor string, p Principal) error {
	if err := validatePrincipal(actor, p); err != nil {
		return err
	}

	return s.write(ctx, func(tx *sql.Tx) error {
		if p.Org != "" {
			if err := requireOrg(ctx, tx, p.Org); err != nil {
				return err
			}
		}

		existing, err := getPrincipal(ctx, tx, p.Name)
		if err == nil {
			return samePrincipal(existing, p)
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("look up principal %q: %w", p.Name, err)
		}

		_, err = tx.ExecContext(ctx,
			`INSERT INTO principals (name, role, org, created_by, created_at) VALUES (?, ?, ?, ?, ?)`,
			p.Name, string(p.Role), p.Org, actor, formatTime(time.Now()))
		if err != nil {
			return fmt.Errorf("insert principal %q: %w", p.Name, err)
		}
		return nil
	})
}

func validatePrincipal(actor string, p Principal) error {
	if err := validateActor(actor); err != nil {
		return err
	}
	if err := ids.ValidateName("principal", p.Name); err != nil {
		return err
	}
	if err := validateRole(p.Role); err != nil {
		return err
	}

	if p.Org != "" {
		if err := ids.ValidateName("org", p.Org); err != nil {
			return err
		}
	}
	switch {
	case (p.Role == RoleOrgAdmin || p.Role == RoleDeveloper) && p.Org == "":
		return fmt.Errorf("principal %q with role %q has no org: set the org it belongs to", p.Name, p.Role)
	case p.Role == RolePlatformAdmin && p.Org != "":
		return fmt.Errorf("principal %q with role %q has org %q: platform admins are platform-wide, leave the org empty", p.Name, p.Role, p.Org)
	}
	return nil
}

func samePrincipal(existing, p Principal) error {
	if existing.Role == p.Role && existing.Org == p.Org {
		return nil
	}
	return fmt.Errorf("principal %q %w with role %q in org %q (requested role %q in org %q): use another name or change the role explicitly",
		p.Name, ErrExists, existing.Role, existing.Org, p.Role, p.Org)
}

// GetPrincipal returns the principal or ErrNotFound.
func (s *SQLite) GetPrincipal(ctx context.Context, name string) (Principal, error) {
	if err := ids.ValidateName("principal", name); err != nil {
		return Principal{}, err
	}

	p, err := getPrincipal(ctx, s.db, name)
	if err != nil {
		return Principal{}, notFound(err, fmt.Sprintf("principal %q", name))
	}
	return p, nil
}

func getPrincipal(ctx context.Context, q queryer, name string) (Principal, error) {
	row := q.QueryRowContext(ctx,
		`SELECT name, role, org, created_by, created_at FROM principals WHERE name = ?`, name)

	var p Principal
	var role, created string
	if err := row.Scan(&p.Name, &role, &p.Org, &p.CreatedBy, &created); err != nil {
		return Principal{}, err
	}
	p.Role = Role(role)

	t, err := parseTime(created)
	p.CreatedAt = t
	return p, err
}

// ListPrincipals returns every principal, ordered by name.
func (s *SQLite) ListPrincipals(ctx context.Context) ([]Principal, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT name FROM principals ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("list principals: %w", err)
	}
	var names []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			rows.Close()
			return nil, fmt.Errorf("list principals: %w", err)
		}
		names = append(names, name)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list principals: %w", err)
	}

	out := make([]Principal, 0, len(names))
	for _, name := range names {
		p, err := getPrincipal(ctx, s.db, name)
		if err != nil {
			return nil, fmt.Errorf("read principal %q: %w", name, err)
		}
		out = append(out, p)
	}
	return out, nil
}
