// Package outbox delivers the webhook calls that jobs queued in the store's
// outbox, through the egress dialer, and audits every delivery.
package outbox

import (
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/moatdev/moat/internal/egress"
)

// MaxResponseBody is how much of a receiver's response body the client
// reads. Webhook receivers have nothing to tell moat beyond the status
// code, so a larger body is cut off instead of filling memory.
const MaxResponseBody = 64 << 10

// maxResponseHeader caps the response header size for the same reason.
const maxResponseHeader = 64 << 10

// DefaultTimeout bounds one webhook request when NewClient gets zero.
const DefaultTimeout = 15 * time.Second

// errBodyTooLarge is returned by a response body read past MaxResponseBody.
var errBodyTooLarge = errors.New("response body too large")

// NewClient returns an HTTP client for webhook delivery that:
//   - connects only through d, so every destination is checked at dial
//     time; a nil d is the zero egress.Dialer, which allows public
//     destinations only;
//   - never uses a proxy from the environment (HTTP_PROXY would carry the
//     request past the egress check);
//   - never follows redirects, because a 3xx response could send moat on
//     to a destination that was never approved. The 3xx response is
//     returned as it is;
//   - reads at most MaxResponseBody bytes of any response body and bounds
//     the whole request by timeout (zero means DefaultTimeout).
func NewClient(d *egress.Dialer, timeout time.Duration) *http.Client {
	if d == nil {
		d = &egress.Dialer{}
	}
	if timeout <= 0 {
		timeout = DefaultTimeout
	}

	transport := &http.Transport{
		Proxy:                  nil,
		DialContext:            d.DialContext,
		ForceAttemptHTTP2:      true,
		TLSClientConfig:        &tls.Config{MinVersion: tls.VersionTLS12},
		TLSHandshakeTimeout:    timeout,
		ResponseHeaderTimeout:  timeout,
		MaxResponseHeaderBytes: maxResponseHeader,
		// Compressed bodies are not requested, so a small compressed
		// response cannot expand past the body limit.
		DisableCompression:  true,
		MaxIdleConnsPerHost: 2,
		IdleConnTimeout:     90 * time.Second,
	}

	return &http.Client{
		Transport: &limitedTransport{base: transport, max: MaxResponseBody},
		Timeout:   timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
}

// limitedTransport caps every response body it returns.
type limitedTransport struct {
	base *http.Transport
	max  int64
}

func (t *limitedTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.base.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	resp.Body = &limitedBody{body: resp.Body, remaining: t.max}
	return resp, nil
}

// CloseIdleConnections lets http.Client.CloseIdleConnections reach the
// wrapped transport.
func (t *limitedTransport) CloseIdleConnections() {
	t.base.CloseIdleConnections()
}

// limitedBody returns errBodyTooLarge once more than the limit was read.
type limitedBody struct {
	body      io.ReadCloser
	remaining int64
}

func (b *limitedBody) Read(p []byte) (int, error) {
	if b.remaining <= 0 {
		// Read one more byte to tell "exactly at the limit" from "over".
		var probe [1]byte
		n, err := b.body.Read(probe[:])
		if n > 0 {
			return 0, fmt.Errorf("%w: more than %d bytes", errBodyTooLarge, MaxResponseBody)
		}
		return 0, err
	}

	if int64(len(p)) > b.remaining {
		p = p[:b.remaining]
	}
	n, err := b.body.Read(p)
	b.remaining -= int64(n)
	return n, err
}

func (b *limitedBody) Close() error {
	return b.body.Close()
}
