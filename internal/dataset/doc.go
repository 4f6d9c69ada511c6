// Package dataset imports CSV, JSON lines and Parquet files into Parquet
// with an explicit schema, and describes the platform's public datasets and
// where datasets live under the data directory.
//
// Types are never inferred. Text sources are read with every column as
// VARCHAR and each column is then cast to its declared type with CAST, so a
// value that does not fit fails the import with an error that names the
// column, shows the value and gives the fix. Big integers such as wei
// amounts therefore never pass through a float.
package dataset
