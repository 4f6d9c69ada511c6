// Package catalog imports datasets and records them in the store: it
// resolves where a dataset's files live (public or in its org's
// partition), converts the source with package dataset and audits the
// import.
package catalog

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/moatdev/moat/internal/audit"
	"github.com/moatdev/moat/internal/dataset"
	"github.com/moatdev/moat/internal/ids"
	"github.com/moatdev/moat/internal/store"
)

// Catalog imports datasets into one data directory.
type Catalog struct {
	DataDir string
	// SharedData is the directory of the platform's sample data files.
	SharedData string
	Store      store.Store
	Audit      *audit.Recorder
}

// Request describes one import. An empty Org makes the dataset public. An
// empty File with the name of a platform dataset imports that dataset from
// SharedData with its built-in schema.
type Request struct {
	Name   string
	File   string
	Org    string
	Schema string
	Format dataset.Format
	Actor  string
}

// Import converts the source to Parquet, records the dataset and audits it.
func (c *Catalog) Import(ctx context.Context, req Request) (store.Dataset, error) {
	if err := ids.ValidateDataset(req.Name); err != nil {
		return store.Dataset{}, err
	}
	if req.Org != "" {
		if err := ids.ValidateName("org", req.Org); err != nil {
			return store.Dataset{}, err
		}
		if _, err := c.Store.GetOrg(ctx, req.Org); err != nil {
			return store.Dataset{}, fmt.Errorf("org %q: %w (create it with 'moat org create %s')", req.Org, err, req.Org)
		}
	}

	src, err := c.source(req)
	if err != nil {
		return store.Dataset{}, err
	}

	// Org datasets live in the org's own partition; the query engine of
	// another org's run is never given a path under it.
	rel := dataset.PublicPath(req.Name)
	if req.Org != "" {
		rel = dataset.OrgPath(req.Org, req.Name)
	}
	res, err := dataset.Import(ctx, src, filepath.Join(c.DataDir, rel))
	if err != nil {
		return store.Dataset{}, fmt.Errorf("import %s from %q: %w", req.Name, src.Path, err)
	}

	d := store.Dataset{Org: req.Org, Name: req.Name, Path: rel, Schema: src.Schema, Rows: res.Rows, Bytes: res.Bytes}
	if err := c.Store.PutDataset(ctx, req.Actor, d); err != nil {
		return store.Dataset{}, err
	}
	_, err = c.Audit.Record(ctx, store.Event{
		Type: audit.DatasetImported, Actor: req.Actor, Org: req.Org, Decision: audit.Info, Reason: "imported",
		Details: map[string]any{"dataset": req.Name, "rows": res.Rows, "bytes": res.Bytes, "source": filepath.Base(src.Path)},
	})
	return d, err
}

// source builds the import source from the request, or from the built-in
// definition of a platform dataset.
func (c *Catalog) source(req Request) (dataset.Source, error) {
	if req.File != "" {
		if req.Schema == "" {
			return dataset.Source{}, fmt.Errorf("missing schema for %s: declare every column, e.g. --schema 'address VARCHAR, label VARCHAR'", req.Name)
		}
		cols, err := dataset.ParseSchema(req.Schema)
		if err != nil {
			return dataset.Source{}, err
		}
		return dataset.Source{Path: req.File, Format: req.Format, Schema: cols}, nil
	}

	for _, p := range dataset.PlatformDatasets() {
		if p.Name != req.Name {
			continue
		}
		if req.Org != "" {
			return dataset.Source{}, fmt.Errorf("%s is a public platform dataset: omit --org", req.Name)
		}
		path := filepath.Join(c.SharedData, p.File)
		if _, err := os.Stat(path); err != nil {
			return dataset.Source{}, fmt.Errorf("platform data file %q not found: set shared_data in config.yaml or MOAT_SHARED_DATA to the directory with the Ethereum sample data", path)
		}
		return dataset.Source{Path: path, Format: p.Format, Schema: p.Schema}, nil
	}
	return dataset.Source{}, fmt.Errorf("no file given and %q is not a platform dataset: pass the file to import", req.Name)
}
