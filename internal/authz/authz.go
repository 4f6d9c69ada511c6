// Package authz decides whether a principal may perform an action on an
// org. Every decision is a value with a stable reason code; callers log and
// audit denials.
//
// The rules, by role:
//   - platform-admin: everything.
//   - security-approver: read runs and the audit log of every org; nothing
//     else.
//   - org-admin: within its own org, run and cancel jobs, read runs and the
//     audit log, configure webhooks, import org datasets and add principals
//     of that org (developers and org-admins).
//   - developer: within its own org, run and cancel jobs and read runs and
//     the audit log.
//
// Creating orgs and importing public datasets need a platform admin.
package authz

import (
	"errors"
	"fmt"

	"github.com/moatdev/moat/internal/store"
)

// Action is something a principal asks to do.
type Action string

const (
	RunJob        Action = "run_job"
	CancelRun     Action = "cancel_run"
	ReadRuns      Action = "read_runs"
	ReadAudit     Action = "read_audit"
	CreateOrg     Action = "create_org"
	AddPrincipal  Action = "add_principal"
	SetWebhook    Action = "set_webhook"
	ImportDataset Action = "import_dataset"
)

// Reason codes of decisions.
const (
	ReasonPlatformAdmin  = "platform_admin"
	ReasonOrgMember      = "org_member"
	ReasonSecurityReader = "security_reader"
	ReasonWrongOrg       = "wrong_org"
	ReasonRoleNotAllowed = "role_not_allowed"
)

// ErrDenied is wrapped by Decision.Err.
var ErrDenied = errors.New("permission denied")

// Decision is the outcome of Decide. The zero value denies.
type Decision struct {
	Allow   bool
	Reason  string
	Message string
}

// Err returns nil for an allow and an error wrapping ErrDenied otherwise.
func (d Decision) Err() error {
	if d.Allow {
		return nil
	}
	return fmt.Errorf("%w: %s", ErrDenied, d.Message)
}

// Decide returns whether p may perform action on org. An empty org means a
// platform-wide target (all orgs, or a public dataset).
func Decide(p store.Principal, action Action, org string) Decision {
	switch p.Role {
	case store.RolePlatformAdmin:
		return allow(ReasonPlatformAdmin)
	case store.RoleSecurityApprover:
		if action == ReadRuns || action == ReadAudit {
			return allow(ReasonSecurityReader)
		}
		return deny(p, action, org, ReasonRoleNotAllowed)
	}

	if !orgAction(p.Role, action) {
		return deny(p, action, org, ReasonRoleNotAllowed)
	}
	// Org roles act only inside their own org; an empty org would mean
	// every org or a public dataset, which only a platform admin may touch.
	if org == "" || org != p.Org {
		return deny(p, action, org, ReasonWrongOrg)
	}
	return allow(ReasonOrgMember)
}

// DecideAddPrincipal also checks the role and org of the principal being
// added: an org admin may add developers and org admins of its own org only.
func DecideAddPrincipal(p store.Principal, target store.Principal) Decision {
	d := Decide(p, AddPrincipal, target.Org)
	if !d.Allow || p.Role == store.RolePlatformAdmin {
		return d
	}
	if target.Role != store.RoleDeveloper && target.Role != store.RoleOrgAdmin {
		return deny(p, AddPrincipal, target.Org, ReasonRoleNotAllowed)
	}
	return d
}

// orgAction reports whether an org role may perform the action at all.
func orgAction(role store.Role, action Action) bool {
	switch action {
	case RunJob, CancelRun, ReadRuns, ReadAudit:
		return role == store.RoleOrgAdmin || role == store.RoleDeveloper
	case SetWebhook, ImportDataset, AddPrincipal:
		return role == store.RoleOrgAdmin
	default:
		return false
	}
}

func allow(reason string) Decision { return Decision{Allow: true, Reason: reason} }

func deny(p store.Principal, action Action, org, reason string) Decision {
	target := "all orgs"
	if org != "" {
		target = fmt.Sprintf("org %q", org)
	}
	msg := fmt.Sprintf("principal %q (role %s, org %q) may not %s on %s", p.Name, p.Role, p.Org, action, target)
	switch {
	case org == "" && (action == CreateOrg || action == ImportDataset):
		msg += ": only a platform admin may do this"
	case reason == ReasonWrongOrg:
		msg += ": it acts only within its own org; use a principal of that org or a platform admin"
	case reason == ReasonRoleNotAllowed:
		msg += ": its role does not allow it; ask a platform admin or an org admin of that org"
	}
	return Decision{Reason: reason, Message: msg}
}
