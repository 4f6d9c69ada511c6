// Package store keeps moat's control-plane state: orgs, principals, datasets,
// webhook destinations, jobs, bundle versions, runs, the webhook outbox and
// the audit log.
//
// Store is the interface the rest of moat uses; Open returns the embedded
// SQLite implementation. Every method that writes takes the acting principal
// so every record names who made it. Several moat processes may use one
// database file at once.
package store

import (
	"context"
	"errors"
	"time"
)

// Sentinel errors; callers test them with errors.Is.
var (
	ErrNotFound = errors.New("not found")
	ErrExists   = errors.New("already exists")
)

// Role is a principal's role. Roles are recorded now and enforced once the
// API exists.
type Role string

const (
	RolePlatformAdmin    Role = "platform-admin"
	RoleSecurityApprover Role = "security-approver"
	RoleOrgAdmin         Role = "org-admin"
	RoleDeveloper        Role = "developer"
)

// Org is a tenant.
type Org struct {
	Name      string
	CreatedBy string
	CreatedAt time.Time
}

// Principal is a person or service that acts on moat. Org is empty for
// platform-wide principals.
type Principal struct {
	Name      string
	Role      Role
	Org       string
	CreatedBy string
	CreatedAt time.Time
}

// Dataset is a table that jobs can read through the gateway. Org is empty for
// public platform datasets, which every org may read. Path is the directory of
// Parquet files relative to the data directory; for org datasets it is the
// org's own partition. Schema is the column list as "name TYPE" pairs in
// DuckDB syntax.
type Dataset struct {
	Org       string
	Name      string
	Path      string
	Schema    []Column
	Rows      int64
	Bytes     int64
	CreatedBy string
	CreatedAt time.Time
}

// Column is one column of a dataset schema.
type Column struct {
	Name string `json:"name"`
	Type string `json:"type"`
}

// Webhook is the destination an org configured for one webhook name.
type Webhook struct {
	Org       string
	Name      string
	URL       string
	CreatedBy string
	CreatedAt time.Time
}

// Job is a named job of an org; its code lives in bundle versions.
type Job struct {
	Org       string
	Name      string
	Kind      string
	CreatedBy string
	CreatedAt time.Time
}

// BundleVersion is one immutable version of a job's bundle, identified by
// the sha256 content digest ("sha256:<hex>"). Path is the immutable copy
// relative to the data directory. Manifest is the bundle's moat.yaml as read.
type BundleVersion struct {
	Org       string
	Job       string
	Digest    string
	Path      string
	Manifest  []byte
	SizeBytes int64
	CreatedBy string
	CreatedAt time.Time
}

// RunState is the lifecycle stage of a run.
type RunState string

const (
	RunQueued   RunState = "queued"
	RunRunning  RunState = "running"
	RunFinished RunState = "finished"
)

// Run is one execution of a bundle version. Cause is empty until the run
// finishes; see package worker for the terminal causes.
type Run struct {
	ID     string
	Org    string
	Job    string
	Digest string
	Actor  string
	State  RunState
	Cause  string
	// Reason is a human sentence for the cause (the rejection reason, the
	// infrastructure error, ...). Empty for succeeded runs.
	Reason   string
	ExitCode *int
	// Limits is the JSON of the resources the run was started with.
	Limits          []byte
	CPUSeconds      float64
	PeakMemoryBytes int64
	OOMKills        int64
	PidsHits        int64
	WallMillis      int64
	RowsReturned    int64
	Queries         int64
	WebhookCalls    int64
	LogPath         string
	LogBytes        int64
	LogTruncated    bool
	CancelRequested bool
	// Worker identifies the process executing the run as
	// "host/pid/start-ticks" (see package worker); empty for runs queued
	// for a worker not chosen yet.
	Worker     string
	QueuedAt   time.Time
	StartedAt  *time.Time
	FinishedAt *time.Time
}

// RunFilter selects runs for ListRuns. Zero fields match everything.
type RunFilter struct {
	Org   string
	State RunState
	Limit int
}

// OutboxState is the delivery stage of a webhook call.
type OutboxState string

const (
	OutboxPending   OutboxState = "pending"
	OutboxDelivered OutboxState = "delivered"
	OutboxFailed    OutboxState = "failed"
)

// OutboxItem is one webhook call a job made, waiting for or done with
// delivery. IdempotencyKey is sent as a header so receivers can drop
// duplicates.
type OutboxItem struct {
	ID             int64
	RunID          string
	Org            string
	Webhook        string
	URL            string
	Body           []byte
	IdempotencyKey string
	State          OutboxState
	Attempts       int
	LastStatus     int
	LastError      string
	CreatedAt      time.Time
	DeliveredAt    *time.Time
}

// Event is one audit record. Seq, PrevHash, Hash and Time are set by
// AppendAudit: Hash is the hex sha256 over PrevHash and the canonical JSON of
// the other fields, so editing or deleting a past event breaks the chain.
type Event struct {
	Seq      int64
	Time     time.Time
	Type     string
	Actor    string
	Org      string
	RunID    string
	Job      string
	Decision string
	Reason   string
	Details  map[string]any
	PrevHash string
	Hash     string
}

// AuditFilter selects audit events. Zero fields match everything.
type AuditFilter struct {
	RunID string
	Org   string
	Limit int
}

// Store is moat's control-plane state.
type Store interface {
	EnsureOrg(ctx context.Context, actor, name string) (created bool, err error)
	GetOrg(ctx context.Context, name string) (Org, error)
	ListOrgs(ctx context.Context) ([]Org, error)

	EnsurePrincipal(ctx context.Context, actor string, p Principal) error
	GetPrincipal(ctx context.Context, name string) (Principal, error)
	ListPrincipals(ctx context.Context) ([]Principal, error)

	// PutDataset inserts or replaces the dataset (org, name).
	PutDataset(ctx context.Context, actor string, d Dataset) error
	// GetDataset returns the org's own dataset of that name, or else the
	// public one. It never returns another org's dataset.
	GetDataset(ctx context.Context, org, name string) (Dataset, error)
	// ListDatasets returns the public datasets and those of org.
	ListDatasets(ctx context.Context, org string) ([]Dataset, error)

	SetWebhook(ctx context.Context, actor string, w Webhook) error
	GetWebhook(ctx context.Context, org, name string) (Webhook, error)

	EnsureJob(ctx context.Context, actor string, j Job) error
	// PutBundleVersion records a version; recording an existing digest for
	// the same job is not an error.
	PutBundleVersion(ctx context.Context, actor string, b BundleVersion) error

	CreateRun(ctx context.Context, r Run) error
	// MarkRunStarted moves a queued run to running.
	MarkRunStarted(ctx context.Context, id string, at time.Time) error
	// FinishRun stores the terminal fields of r (cause, reason, exit code,
	// usage, counters, log facts, finish time) and sets state finished. It
	// fails with ErrNotFound for an unknown run and errors for a run that
	// is already finished (wrapping ErrRunFinished), so a cause is never
	// overwritten. The query, row and webhook counters keep the larger of
	// the stored value and r's, so counters added during the run survive.
	FinishRun(ctx context.Context, r Run) error
	GetRun(ctx context.Context, id string) (Run, error)
	ListRuns(ctx context.Context, f RunFilter) ([]Run, error)
	// RequestCancel flags a queued or running run for cancellation.
	RequestCancel(ctx context.Context, id string) error
	// AddRunCounters adds to a running run's query, row and webhook
	// counters.
	AddRunCounters(ctx context.Context, id string, queries, rows, webhooks int64) error
	// ListUnfinishedRuns returns runs in state queued or running.
	ListUnfinishedRuns(ctx context.Context) ([]Run, error)

	EnqueueOutbox(ctx context.Context, it OutboxItem) (int64, error)
	ListOutbox(ctx context.Context, runID string) ([]OutboxItem, error)
	// ClaimOutbox returns up to n pending items and marks them claimed by
	// this process so two processes never deliver the same item. An empty
	// runID claims across all runs. Claimed items have state OutboxClaimed.
	ClaimOutbox(ctx context.Context, runID string, n int) ([]OutboxItem, error)
	// CompleteOutbox records the result of one delivery attempt of an item
	// this store claimed: OutboxDelivered or OutboxFailed end delivery,
	// OutboxPending releases the item for a retry.
	CompleteOutbox(ctx context.Context, id int64, state OutboxState, status int, errMsg string) error

	// AppendAudit adds e to the hash chain and returns it with Seq, Time,
	// PrevHash and Hash set.
	AppendAudit(ctx context.Context, e Event) (Event, error)
	ListAudit(ctx context.Context, f AuditFilter) ([]Event, error)

	Close() error
}
