package authz

import (
	"strings"
	"testing"

	"github.com/moatdev/moat/internal/store"
)

func TestDecideRules(t *testing.T) {
	admin := store.Principal{Name: "root", Role: store.RolePlatformAdmin}
	auditor := store.Principal{Name: "sec", Role: store.RoleSecurityApprover}
	orgAdmin := store.Principal{Name: "ann", Role: store.RoleOrgAdmin, Org: "acme"}
	dev := store.Principal{Name: "alice", Role: store.RoleDeveloper, Org: "acme"}

	cases := []struct {
		who    store.Principal
		action Action
		org    string
		allow  bool
		reason string
	}{
		{admin, CreateOrg, "", true, ReasonPlatformAdmin},
		{admin, ImportDataset, "", true, ReasonPlatformAdmin},
		{admin, RunJob, "globex", true, ReasonPlatformAdmin},
		{auditor, ReadAudit, "", true, ReasonSecurityReader},
		{auditor, ReadRuns, "globex", true, ReasonSecurityReader},
		{auditor, RunJob, "acme", false, ReasonRoleNotAllowed},
		{auditor, CreateOrg, "", false, ReasonRoleNotAllowed},
		{orgAdmin, SetWebhook, "acme", true, ReasonOrgMember},
		{orgAdmin, ImportDataset, "acme", true, ReasonOrgMember},
		{orgAdmin, ImportDataset, "", false, ReasonWrongOrg},
		{orgAdmin, SetWebhook, "globex", false, ReasonWrongOrg},
		{orgAdmin, CreateOrg, "", false, ReasonRoleNotAllowed},
		{dev, RunJob, "acme", true, ReasonOrgMember},
		{dev, CancelRun, "acme", true, ReasonOrgMember},
		{dev, ReadAudit, "acme", true, ReasonOrgMember},
		{dev, ReadAudit, "", false, ReasonWrongOrg},
		{dev, RunJob, "globex", false, ReasonWrongOrg},
		{dev, SetWebhook, "acme", false, ReasonRoleNotAllowed},
		{dev, ImportDataset, "acme", false, ReasonRoleNotAllowed},
		{dev, AddPrincipal, "acme", false, ReasonRoleNotAllowed},
		{store.Principal{Name: "x", Role: "unknown", Org: "acme"}, RunJob, "acme", false, ReasonRoleNotAllowed},
	}
	for _, tc := range cases {
		d := Decide(tc.who, tc.action, tc.org)
		if d.Allow != tc.allow || d.Reason != tc.reason {
			t.Errorf("%s %s on %q: allow=%v reason=%q, want allow=%v reason=%q", tc.who.Name, tc.action, tc.org, d.Allow, d.Reason, tc.allow, tc.reason)
		}
		if !d.Allow && !strings.Contains(d.Message, tc.who.Name) {
			t.Errorf("%s %s: denial message %q does not name the principal", tc.who.Name, tc.action, d.Message)
		}
	}
}

func TestZeroDecisionDenies(t *testing.T) {
	var d Decision
	if d.Allow {
		t.Fatal("the zero Decision allows")
	}
}

func TestOrgAdminAddsOnlyOrgRoles(t *testing.T) {
	orgAdmin := store.Principal{Name: "ann", Role: store.RoleOrgAdmin, Org: "acme"}
	cases := []struct {
		target store.Principal
		allow  bool
	}{
		{store.Principal{Name: "bob", Role: store.RoleDeveloper, Org: "acme"}, true},
		{store.Principal{Name: "cat", Role: store.RoleOrgAdmin, Org: "acme"}, true},
		{store.Principal{Name: "eve", Role: store.RolePlatformAdmin}, false},
		{store.Principal{Name: "sec", Role: store.RoleSecurityApprover, Org: "acme"}, false},
		{store.Principal{Name: "gus", Role: store.RoleDeveloper, Org: "globex"}, false},
	}
	for _, tc := range cases {
		if d := DecideAddPrincipal(orgAdmin, tc.target); d.Allow != tc.allow {
			t.Errorf("add %s (%s, %q): allow=%v, want %v (%s)", tc.target.Name, tc.target.Role, tc.target.Org, d.Allow, tc.allow, d.Message)
		}
	}
}
