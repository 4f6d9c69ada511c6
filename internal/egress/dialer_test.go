package egress

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// Every dial in these tests goes to a loopback listener that the test owns.
// Decisions about other addresses are checked without dialing.

type countingServer struct {
	*httptest.Server
	requests atomic.Int64
}

func newCountingServer(t *testing.T) *countingServer {
	t.Helper()
	s := &countingServer{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.requests.Add(1)
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *countingServer) port() string {
	return strconv.Itoa(s.Listener.Addr().(*net.TCPAddr).Port)
}

// logLines collects the JSON log lines that a Dialer writes.
type logLines struct{ bytes.Buffer }

func (l *logLines) entries(t *testing.T) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(l.String()), "\n") {
		if line == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("log line %q is not JSON: %v", line, err)
		}
		out = append(out, m)
	}
	return out
}

func newTestDialer(policy Policy, logs *logLines, resolver *net.Resolver) *Dialer {
	return &Dialer{
		Policy:   policy,
		Resolver: resolver,
		Timeout:  30 * time.Second,
		Logger:   slog.New(slog.NewJSONHandler(logs, nil)),
	}
}

func get(d *Dialer, url string) (*http.Response, error) {
	client := &http.Client{Transport: &http.Transport{DialContext: d.DialContext, Proxy: nil}}
	defer client.CloseIdleConnections()
	return client.Get(url)
}

func requireDenied(t *testing.T, err error, reason string) *DeniedError {
	t.Helper()
	if err == nil {
		t.Fatalf("request succeeded, want a denial with reason %q", reason)
	}
	if !errors.Is(err, ErrDenied) {
		t.Fatalf("error %v does not wrap ErrDenied", err)
	}
	var denied *DeniedError
	if !errors.As(err, &denied) {
		t.Fatalf("error %v is not a *DeniedError", err)
	}
	if denied.Decision.Reason != reason {
		t.Errorf("reason = %q, want %q (%s)", denied.Decision.Reason, reason, denied.Decision.Message)
	}
	if denied.Decision.Allow {
		t.Errorf("a DeniedError carries an allowing Decision")
	}
	return denied
}

func TestDialerRejectsLoopbackByDefault(t *testing.T) {
	server := newCountingServer(t)
	var logs logLines
	var dnsAttempts atomic.Int64
	d := newTestDialer(Policy{}, &logs, noDNSResolver(&dnsAttempts))

	_, err := get(d, server.URL)

	requireDenied(t, err, ReasonLoopback)
	if n := server.requests.Load(); n != 0 {
		t.Errorf("server received %d requests, want 0", n)
	}

	entries := logs.entries(t)
	if len(entries) != 1 {
		t.Fatalf("got %d log lines, want exactly 1: %v", len(entries), entries)
	}
	if entries[0]["level"] != "WARN" || entries[0]["reason"] != ReasonLoopback || entries[0]["msg"] != "egress denied" {
		t.Errorf("log line = %v, want level WARN, msg \"egress denied\", reason loopback", entries[0])
	}
}

func TestDialerAllowsAllowlistedLoopback(t *testing.T) {
	server := newCountingServer(t)
	var logs logLines
	var dnsAttempts atomic.Int64
	d := newTestDialer(Policy{Allow: []string{server.Listener.Addr().String()}}, &logs, noDNSResolver(&dnsAttempts))

	resp, err := get(d, server.URL)
	if err != nil {
		t.Fatalf("GET %s: %v", server.URL, err)
	}
	resp.Body.Close()

	if resp.StatusCode != http.StatusNoContent {
		t.Errorf("status = %d, want 204", resp.StatusCode)
	}
	if n := server.requests.Load(); n != 1 {
		t.Errorf("server received %d requests, want 1", n)
	}

	entries := logs.entries(t)
	if len(entries) != 1 {
		t.Fatalf("got %d log lines, want exactly 1: %v", len(entries), entries)
	}
	if entries[0]["level"] != "INFO" || entries[0]["reason"] != ReasonAllowlisted {
		t.Errorf("log line = %v, want level INFO, reason allowlisted", entries[0])
	}
}

func TestDialerRejectsOtherPortOfAllowlistedHost(t *testing.T) {
	allowed := newCountingServer(t)
	other := newCountingServer(t)
	var logs logLines
	var dnsAttempts atomic.Int64
	d := newTestDialer(Policy{Allow: []string{allowed.Listener.Addr().String()}}, &logs, noDNSResolver(&dnsAttempts))

	_, err := get(d, other.URL)

	denied := requireDenied(t, err, ReasonPortNotAllowed)
	if !strings.Contains(denied.Decision.Message, allowed.port()) {
		t.Errorf("message %q does not name the allowlisted port %s", denied.Decision.Message, allowed.port())
	}
	if n := other.requests.Load(); n != 0 {
		t.Errorf("server on the other port received %d requests, want 0", n)
	}
}

func TestDialerRejectsLocalhost(t *testing.T) {
	server := newCountingServer(t)
	var logs logLines
	var dnsAttempts atomic.Int64
	// The address literal is allowlisted, the name is not: an entry allows
	// exactly the host that was written.
	d := newTestDialer(Policy{Allow: []string{server.Listener.Addr().String()}}, &logs, noDNSResolver(&dnsAttempts))

	_, err := get(d, "http://localhost:"+server.port()+"/")

	requireDenied(t, err, ReasonLoopback)
	if n := server.requests.Load(); n != 0 {
		t.Errorf("server received %d requests, want 0", n)
	}
}

func TestDialerAllowsAllowlistedName(t *testing.T) {
	server := newCountingServer(t)
	var logs logLines
	var dnsAttempts atomic.Int64
	d := newTestDialer(Policy{Allow: []string{"localhost:" + server.port()}}, &logs, noDNSResolver(&dnsAttempts))

	resp, err := get(d, "http://LocalHost.:"+server.port()+"/")
	if err != nil {
		t.Fatalf("GET localhost: %v", err)
	}
	resp.Body.Close()

	if n := server.requests.Load(); n != 1 {
		t.Errorf("server received %d requests, want 1", n)
	}
}

func TestDialerRejectsNumericHosts(t *testing.T) {
	server := newCountingServer(t)
	var logs logLines
	var dnsAttempts atomic.Int64
	d := newTestDialer(Policy{Allow: []string{server.Listener.Addr().String()}}, &logs, noDNSResolver(&dnsAttempts))

	for _, host := range []string{"2130706433", "0177.0.0.1", "0x7f.1", "127.1", "0x7f000001", "user@127.0.0.1"} {
		t.Run(host, func(t *testing.T) {
			conn, err := d.DialContext(context.Background(), "tcp", host+":"+server.port())
			if conn != nil {
				conn.Close()
			}

			requireDenied(t, err, ReasonInvalidHost)
		})
	}

	if n := dnsAttempts.Load(); n != 0 {
		t.Errorf("the resolver was asked %d times, want 0", n)
	}
	if n := server.requests.Load(); n != 0 {
		t.Errorf("server received %d requests, want 0", n)
	}
}

func TestDialerRejectsNonPublicAnswers(t *testing.T) {
	dns := &fakeDNS{records: map[string][]netip.Addr{
		"mixed.example.":    {netip.MustParseAddr("8.8.8.8"), netip.MustParseAddr("127.0.0.1")},
		"private.example.":  {netip.MustParseAddr("10.0.0.1")},
		"metadata.example.": {netip.MustParseAddr("169.254.169.254")},
		"nat64.example.":    {netip.MustParseAddr("64:ff9b::a9fe:a9fe")},
		"mapped.example.":   {netip.MustParseAddr("::ffff:127.0.0.1")},
	}}
	var logs logLines
	d := newTestDialer(Policy{}, &logs, dns.resolver())

	cases := map[string]string{
		"mixed.example":    ReasonLoopback,
		"private.example":  ReasonPrivate,
		"metadata.example": ReasonMetadata,
		"nat64.example":    ReasonNAT64Embedded,
		"mapped.example":   ReasonLoopback,
	}
	for host, reason := range cases {
		t.Run(host, func(t *testing.T) {
			conn, err := d.DialContext(context.Background(), "tcp", host+":443")
			if conn != nil {
				conn.Close()
			}

			requireDenied(t, err, reason)
		})
	}

	if dns.queries.Load() == 0 {
		t.Errorf("the fake DNS server was never asked; the test did not exercise resolution")
	}
}

func TestDialerUnknownNameIsNotDenial(t *testing.T) {
	dns := &fakeDNS{records: map[string][]netip.Addr{}}
	var logs logLines
	d := newTestDialer(Policy{}, &logs, dns.resolver())

	_, err := d.DialContext(context.Background(), "tcp", "missing.example:443")

	if err == nil {
		t.Fatalf("dial of an unknown name succeeded")
	}
	if errors.Is(err, ErrDenied) {
		t.Errorf("a resolution failure was reported as a denial: %v", err)
	}
}

func TestDialerRejectsNonTCPNetwork(t *testing.T) {
	var logs logLines
	var dnsAttempts atomic.Int64
	d := newTestDialer(Policy{}, &logs, noDNSResolver(&dnsAttempts))

	_, err := d.DialContext(context.Background(), "udp", "127.0.0.1:53")

	requireDenied(t, err, ReasonInvalidNetwork)
}

func TestDialerRejectsAllWhenPolicyInvalid(t *testing.T) {
	server := newCountingServer(t)
	var logs logLines
	var dnsAttempts atomic.Int64
	d := newTestDialer(Policy{Allow: []string{server.Listener.Addr().String(), "no-port"}}, &logs, noDNSResolver(&dnsAttempts))

	_, err := get(d, server.URL)

	requireDenied(t, err, ReasonInvalidPolicy)
	if n := server.requests.Load(); n != 0 {
		t.Errorf("server received %d requests, want 0", n)
	}
}

// decide is a pure function, so addresses that must never be dialed from a
// test are checked through it directly.
func TestDecide(t *testing.T) {
	cases := []struct {
		name   string
		policy Policy
		host   string
		port   uint16
		addrs  []string
		allow  bool
		reason string
	}{
		{"public", Policy{}, "hooks.example", 443, []string{"8.8.8.8", "2606:4700::1111"}, true, ReasonPublic},
		{"private allowlisted", Policy{Allow: []string{"hooks.internal:443"}}, "hooks.internal", 443, []string{"10.0.0.1"}, true, ReasonAllowlisted},
		{"private other port", Policy{Allow: []string{"hooks.internal:443"}}, "hooks.internal", 8443, []string{"10.0.0.1"}, false, ReasonPortNotAllowed},
		{"private not listed", Policy{}, "hooks.internal", 443, []string{"192.168.1.1"}, false, ReasonPrivate},
		{"metadata allowlisted", Policy{Allow: []string{"hooks.internal:80"}}, "hooks.internal", 80, []string{"169.254.169.254"}, false, ReasonMetadata},
		{"link-local allowlisted", Policy{Allow: []string{"hooks.internal:80"}}, "hooks.internal", 80, []string{"169.254.3.3"}, false, ReasonLinkLocal},
		{"public and metadata", Policy{}, "hooks.example", 443, []string{"8.8.8.8", "169.254.169.254"}, false, ReasonMetadata},
		{"allowlisted public", Policy{Allow: []string{"hooks.example:443"}}, "hooks.example", 443, []string{"8.8.8.8"}, true, ReasonAllowlisted},
	}

	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d := &Dialer{Policy: tc.policy}
			var addrs []netip.Addr
			for _, a := range tc.addrs {
				addrs = append(addrs, netip.MustParseAddr(a))
			}

			got := d.decide(target{host: tc.host, port: tc.port, addrs: addrs})

			if got.Allow != tc.allow {
				t.Errorf("Allow = %v, want %v (%s)", got.Allow, tc.allow, got.Message)
			}
			if got.Reason != tc.reason {
				t.Errorf("Reason = %q, want %q (%s)", got.Reason, tc.reason, got.Message)
			}
		})
	}
}

func TestOnlyAddressRejectsOtherAddress(t *testing.T) {
	hook := onlyAddress(netip.MustParseAddr("127.0.0.1"), 8080)

	if err := hook(context.Background(), "tcp4", "127.0.0.1:8080", nil); err != nil {
		t.Errorf("hook rejected the checked address: %v", err)
	}
	if err := hook(context.Background(), "tcp4", "127.0.0.2:8080", nil); !errors.Is(err, ErrDenied) {
		t.Errorf("hook error for another address = %v, want ErrDenied", err)
	}
	if err := hook(context.Background(), "tcp4", "127.0.0.1:8081", nil); !errors.Is(err, ErrDenied) {
		t.Errorf("hook error for another port = %v, want ErrDenied", err)
	}
}
