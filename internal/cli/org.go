package cli

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/moatdev/moat/internal/audit"
	"github.com/moatdev/moat/internal/authz"
	"github.com/moatdev/moat/internal/ids"
	"github.com/moatdev/moat/internal/store"
)

func newOrgCommand(g *globalFlags) *cobra.Command {
	cmd := groupCommand("org", "Manage orgs (tenants)")

	create := &cobra.Command{
		Use:   "create NAME",
		Short: "Create an org; creating an existing org is not an error",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			name := args[0]
			if err := ids.ValidateName("org", name); err != nil {
				return err
			}
			return withApp(g, func(ctx context.Context, a *app) error {
				if err := a.authorize(ctx, authz.CreateOrg, ""); err != nil {
					return err
				}
				created, err := a.store.EnsureOrg(ctx, a.actor, name)
				if err != nil {
					return err
				}
				if !created {
					fmt.Printf("org %s already exists\n", name)
					return nil
				}
				_, err = a.audit.Record(ctx, store.Event{Type: audit.OrgCreated, Actor: a.actor, Org: name, Decision: audit.Info, Reason: "created"})
				fmt.Printf("created org %s\n", name)
				return err
			})(cmd.Context())
		},
	}

	list := &cobra.Command{
		Use:   "list",
		Short: "List orgs",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return withApp(g, func(ctx context.Context, a *app) error {
				orgs, err := a.store.ListOrgs(ctx)
				if err != nil {
					return err
				}
				rows := make([][]string, len(orgs))
				for i, o := range orgs {
					rows[i] = []string{o.Name, o.CreatedBy, o.CreatedAt.Local().Format(time.DateTime)}
				}
				printTable(os.Stdout, []string{"ORG", "CREATED_BY", "CREATED"}, rows)
				return nil
			})(cmd.Context())
		},
	}

	cmd.AddCommand(create, list)
	return cmd
}

func newPrincipalCommand(g *globalFlags) *cobra.Command {
	cmd := groupCommand("principal", "Manage principals (people and services acting on moat)")

	var role, org string
	add := &cobra.Command{
		Use:   "add NAME --role ROLE [--org ORG]",
		Short: "Add a principal with a role: platform-admin, security-approver, org-admin or developer",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return withApp(g, func(ctx context.Context, a *app) error {
				p := store.Principal{Name: args[0], Role: store.Role(role), Org: org}
				if err := a.record(ctx, authz.DecideAddPrincipal(a.principal, p), authz.AddPrincipal, org); err != nil {
					return err
				}
				if err := a.store.EnsurePrincipal(ctx, a.actor, p); err != nil {
					return err
				}
				_, err := a.audit.Record(ctx, store.Event{
					Type: "principal.added", Actor: a.actor, Org: org, Decision: audit.Info, Reason: "added",
					Details: map[string]any{"principal": p.Name, "role": role},
				})
				fmt.Printf("principal %s has role %s\n", p.Name, role)
				return err
			})(cmd.Context())
		},
	}
	add.Flags().StringVar(&role, "role", "developer", "role: platform-admin, security-approver, org-admin or developer")
	add.Flags().StringVar(&org, "org", "", "org of an org-admin or developer")

	list := &cobra.Command{
		Use:   "list",
		Short: "List principals with their roles and orgs",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return withApp(g, func(ctx context.Context, a *app) error {
				ps, err := a.store.ListPrincipals(ctx)
				if err != nil {
					return err
				}
				rows := make([][]string, len(ps))
				for i, p := range ps {
					org := p.Org
					if org == "" {
						org = "-"
					}
					rows[i] = []string{p.Name, string(p.Role), org, p.CreatedBy}
				}
				printTable(os.Stdout, []string{"PRINCIPAL", "ROLE", "ORG", "CREATED_BY"}, rows)
				return nil
			})(cmd.Context())
		},
	}

	cmd.AddCommand(add, list)
	return cmd
}

func newWebhookCommand(g *globalFlags) *cobra.Command {
	cmd := groupCommand("webhook", "Configure where an org's webhook calls are delivered")

	var org string
	set := &cobra.Command{
		Use:   "set NAME URL --org ORG",
		Short: "Deliver the org's webhook NAME to URL (http or https)",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			return withApp(g, func(ctx context.Context, a *app) error {
				if err := validateWebhookURL(args[1]); err != nil {
					return err
				}
				if err := a.authorize(ctx, authz.SetWebhook, org); err != nil {
					return err
				}
				w := store.Webhook{Org: org, Name: args[0], URL: args[1]}
				if err := a.store.SetWebhook(ctx, a.actor, w); err != nil {
					return err
				}
				_, err := a.audit.Record(ctx, store.Event{
					Type: audit.WebhookConfigSet, Actor: a.actor, Org: org, Decision: audit.Info, Reason: "configured",
					Details: map[string]any{"webhook": w.Name, "url": w.URL},
				})
				fmt.Printf("webhook %s of org %s delivers to %s\n", w.Name, org, w.URL)
				return err
			})(cmd.Context())
		},
	}
	set.Flags().StringVar(&org, "org", "", "org (required)")
	_ = set.MarkFlagRequired("org")

	cmd.AddCommand(set)
	return cmd
}
