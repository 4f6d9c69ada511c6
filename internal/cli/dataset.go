package cli

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/moatdev/moat/internal/authz"
	"github.com/moatdev/moat/internal/catalog"
	"github.com/moatdev/moat/internal/dataset"
	"github.com/moatdev/moat/internal/store"
)

func newDatasetCommand(g *globalFlags) *cobra.Command {
	cmd := groupCommand("dataset", "Import and list datasets that jobs can query")

	var org, schema, format string
	imp := &cobra.Command{
		Use:   "import NAME [FILE] [--org ORG] --schema 'col TYPE, ...'",
		Short: "Import CSV, JSON lines or Parquet into a Parquet dataset with an explicit schema",
		Long: `Import converts FILE to Parquet under the data directory. The schema is
explicit: wei and token amounts exceed int64 and float64, so declare them as
DECIMAL(38,0) or VARCHAR; a value that does not fit its type fails the
import instead of losing precision.

Without --org the dataset is public: every org may read it. With --org it
belongs to that org and is stored in the org's own partition.

For the platform datasets (ethereum.transactions, ethereum.token_transfers)
omit FILE and --schema: moat reads them from the shared data directory
(shared_data in config.yaml, env MOAT_SHARED_DATA) with built-in schemas.`,
		Args: cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			return withApp(g, func(ctx context.Context, a *app) error {
				var file string
				if len(args) == 2 {
					file = args[1]
				}
				if err := a.authorize(ctx, authz.ImportDataset, org); err != nil {
					return err
				}
				d, err := importDataset(ctx, a, args[0], file, org, schema, dataset.Format(format))
				if err != nil {
					return err
				}
				scope := "public"
				if d.Org != "" {
					scope = "org " + d.Org
				}
				fmt.Printf("imported %s (%s): %d rows, %d bytes of parquet\n", d.Name, scope, d.Rows, d.Bytes)
				return nil
			})(cmd.Context())
		},
	}
	imp.Flags().StringVar(&org, "org", "", "org that owns the dataset (default: public)")
	imp.Flags().StringVar(&schema, "schema", "", "columns as 'name TYPE, ...' in DuckDB types, e.g. 'address VARCHAR, value DECIMAL(38,0)'")
	imp.Flags().StringVar(&format, "format", "", "csv, jsonl or parquet (default: from the file name)")

	var listOrg string
	list := &cobra.Command{
		Use:   "list [--org ORG]",
		Short: "List public datasets and those of ORG",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return withApp(g, func(ctx context.Context, a *app) error {
				listOrg := a.defaultOrg(listOrg)
				if listOrg != "" {
					if err := a.authorize(ctx, authz.ReadRuns, listOrg); err != nil {
						return err
					}
				}
				ds, err := a.store.ListDatasets(ctx, listOrg)
				if err != nil {
					return err
				}
				rows := make([][]string, len(ds))
				for i, d := range ds {
					scope := "public"
					if d.Org != "" {
						scope = d.Org
					}
					rows[i] = []string{d.Name, scope, fmt.Sprint(d.Rows), columnsSummary(d.Schema)}
				}
				printTable(os.Stdout, []string{"DATASET", "OWNER", "ROWS", "COLUMNS"}, rows)
				return nil
			})(cmd.Context())
		},
	}
	list.Flags().StringVar(&listOrg, "org", "", "include this org's datasets")

	cmd.AddCommand(imp, list)
	return cmd
}

// importDataset imports one dataset through the catalog.
func importDataset(ctx context.Context, a *app, name, file, org, schema string, format dataset.Format) (store.Dataset, error) {
	return a.catalog().Import(ctx, catalog.Request{
		Name: name, File: file, Org: org, Schema: schema, Format: format, Actor: a.actor,
	})
}

func columnsSummary(cols []store.Column) string {
	parts := make([]string, len(cols))
	for i, c := range cols {
		parts[i] = c.Name + " " + c.Type
	}
	s := strings.Join(parts, ", ")
	if len(s) > 80 {
		s = s[:80] + "…"
	}
	return s
}

// validateWebhookURL accepts an absolute http or https URL without
// credentials. Whether its address may be dialled is decided at delivery
// time by the egress dialer, because DNS can change in between.
func validateWebhookURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("invalid webhook URL %q: %v", raw, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return fmt.Errorf("invalid webhook URL %q: use an http:// or https:// URL", raw)
	}
	if u.Host == "" || u.Hostname() == "" {
		return fmt.Errorf("invalid webhook URL %q: it has no host", raw)
	}
	if u.User != nil {
		// Redacted keeps the password out of the terminal and any captured
		// output.
		return fmt.Errorf("invalid webhook URL %q: credentials in the URL are not allowed; the receiver should authenticate by the Idempotency-Key header or its own token in the path", u.Redacted())
	}
	return nil
}
