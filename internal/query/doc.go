// Package query runs SQL for one run in a locked-down DuckDB engine that
// lives in its own child process.
//
// A crash, a memory blow-up or a statement that ignores interrupts hurts only
// that child: the client kills it by PID and the next query starts a fresh
// one. The child (Serve) builds one view per granted dataset, then locks
// DuckDB down: only the granted Parquet files are readable (allowed_paths),
// external access, extension loading and configuration changes are off, and
// memory, threads and spill space are capped. Each request is exactly one
// read-only statement. docs/query.md lists the settings, error codes, limits
// and how big numbers are encoded.
//
// Protocol: newline-delimited JSON frames. The client writes a config frame
// and then query and cancel frames to the child's stdin. The child responds
// to the config with a ready frame, and to each query with zero or more row
// frames and one done frame. The client treats everything the child sends as
// untrusted: frame size, row count and byte count are checked again on its
// side, and a child that breaks the protocol is killed.
package query
