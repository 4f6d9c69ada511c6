package worker

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sort"

	"github.com/moatdev/moat/internal/bundle"
	"github.com/moatdev/moat/internal/query"
	"github.com/moatdev/moat/internal/store"
)

// resolved is what a run may touch: its input datasets as query views over
// exactly their files, and the destination of each declared webhook.
type resolved struct {
	views       []query.View
	datasets    []string
	webhookURLs map[string]string
}

// resolve checks that every declared input and webhook exists for the run's
// org. Any missing one rejects the run before a sandbox starts; the error
// lists every problem, not only the first.
func (w *Worker) resolve(ctx context.Context, run store.Run, b *bundle.Bundle) (resolved, error) {
	in := resolved{webhookURLs: map[string]string{}}
	m := b.Manifest
	var problems []error

	for _, name := range m.Inputs {
		// GetDataset returns the org's own dataset or a public one, never
		// another org's, so an input cannot name a foreign partition.
		d, err := w.cfg.Store.GetDataset(ctx, run.Org, name)
		if errors.Is(err, store.ErrNotFound) {
			problems = append(problems, fmt.Errorf("input dataset %q does not exist for org %q: import it with 'moat dataset import' or remove it from inputs", name, run.Org))
			continue
		}
		if err != nil {
			return in, fmt.Errorf("look up input dataset %q: %w", name, err)
		}

		files, err := datasetFiles(w.cfg.DataDir, d)
		if err != nil {
			problems = append(problems, err)
			continue
		}
		in.views = append(in.views, query.View{Name: name, Files: files})
		in.datasets = append(in.datasets, name)
	}

	for _, name := range m.Webhooks {
		hook, err := w.cfg.Store.GetWebhook(ctx, run.Org, name)
		if errors.Is(err, store.ErrNotFound) {
			problems = append(problems, fmt.Errorf("webhook %q has no destination for org %q: set one with 'moat webhook set %s URL --org %s'", name, run.Org, name, run.Org))
			continue
		}
		if err != nil {
			return in, fmt.Errorf("look up webhook %q: %w", name, err)
		}
		in.webhookURLs[name] = hook.URL
	}
	return in, errors.Join(problems...)
}

// datasetFiles lists the Parquet files of a dataset. The dataset path comes
// from the store and is relative to the data directory.
func datasetFiles(dataDir string, d store.Dataset) ([]string, error) {
	dir := filepath.Join(dataDir, filepath.Clean("/"+d.Path))
	files, err := filepath.Glob(filepath.Join(dir, "*.parquet"))
	if err != nil {
		return nil, fmt.Errorf("list files of dataset %q: %w", d.Name, err)
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("dataset %q has no parquet files under %q: re-import it with 'moat dataset import'", d.Name, dir)
	}
	sort.Strings(files)
	return files, nil
}
