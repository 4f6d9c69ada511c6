// Package examples ships the example job bundles and demo data inside the
// moat binary, so 'moat demo' works from any directory.
package examples

import "embed"

// FS holds large-transfers/, hostile/ and data/.
//
//go:embed large-transfers hostile data
var FS embed.FS
