package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/moatdev/moat/internal/ids"
)

// validateActor checks the principal name a write is recorded under.
func validateActor(actor string) error {
	return ids.ValidateName("actor", actor)
}

func validateRole(r Role) error {
	switch r {
	case RolePlatformAdmin, RoleSecurityApprover, RoleOrgAdmin, RoleDeveloper:
		return nil
	}
	return fmt.Errorf("invalid role %q: use %q, %q, %q or %q", r,
		RolePlatformAdmin, RoleSecurityApprover, RoleOrgAdmin, RoleDeveloper)
}

// requireOrg fails with ErrNotFound unless org exists, so no record points
// at an org that was never created.
func requireOrg(ctx context.Context, q queryer, org string) error {
	var n int
	err := q.QueryRowContext(ctx, `SELECT COUNT(*) FROM orgs WHERE name = ?`, org).Scan(&n)
	if err != nil {
		return fmt.Errorf("look up org %q: %w", org, err)
	}
	if n == 0 {
		return fmt.Errorf("org %q %w: create the org first", org, ErrNotFound)
	}
	return nil
}

// requireJob fails with ErrNotFound unless the job exists in org.
func requireJob(ctx context.Context, q queryer, org, job string) error {
	var n int
	err := q.QueryRowContext(ctx, `SELECT COUNT(*) FROM jobs WHERE org = ? AND name = ?`, org, job).Scan(&n)
	if err != nil {
		return fmt.Errorf("look up job %q of org %q: %w", job, org, err)
	}
	if n == 0 {
		return fmt.Errorf("job %q of org %q %w: create the job first", job, org, ErrNotFound)
	}
	return nil
}

// notFound maps sql.ErrNoRows to ErrNotFound with the missing thing named
// by what (for example `run "r-0123456789abcdef"`).
func notFound(err error, what string) error {
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("%s %w", what, ErrNotFound)
	}
	return fmt.Errorf("read %s: %w", what, err)
}
