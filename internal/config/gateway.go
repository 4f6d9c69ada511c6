package config

import (
	"fmt"
	"time"

	"github.com/moatdev/moat/internal/manifest"
)

// problems returns one message per gateway limit below its floor, each
// naming the configuration key and the value.
func (g Gateway) problems() []string {
	var bad []string
	atLeast := func(key string, value, floor int64) {
		if value < floor {
			bad = append(bad, fmt.Sprintf("gateway.%s %d is below the minimum %d: raise it", key, value, floor))
		}
	}
	atLeastBytes := func(key string, value, floor int64) {
		if value < floor {
			bad = append(bad, fmt.Sprintf("gateway.%s %s is below the minimum %s: raise it", key, manifest.FormatBytes(value), manifest.FormatBytes(floor)))
		}
	}

	atLeast("max_queries", int64(g.MaxQueries), 1)
	// The gateway reads 0 webhook calls as its default of 20, so 0 cannot
	// mean "no webhooks" and is rejected rather than silently widened.
	atLeast("max_webhook_calls", int64(g.MaxWebhookCalls), 1)
	atLeast("query_threads", int64(g.QueryThreads), 1)
	atLeast("max_denials", int64(g.MaxDenials), 1)
	atLeast("max_result_rows", g.MaxResultRows, 1)
	atLeastBytes("max_webhook_bytes", g.MaxWebhookBytes, 1<<10)
	atLeastBytes("max_result_bytes", g.MaxResultBytes, 1<<10)
	atLeastBytes("query_memory", g.QueryMemory, 32<<20)
	// The query engine also reads 0 spill bytes as its default (256Mi).
	atLeastBytes("max_spill_bytes", g.MaxSpillBytes, 1)
	if g.QueryTimeout < time.Second {
		bad = append(bad, fmt.Sprintf("gateway.query_timeout %s is below the minimum 1s: raise it", g.QueryTimeout))
	}
	return bad
}
