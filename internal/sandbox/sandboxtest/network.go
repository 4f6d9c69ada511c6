package sandboxtest

import (
	"net"
	"strings"
	"testing"

	"github.com/moatdev/moat/internal/ids"
	"github.com/moatdev/moat/internal/netns"
)

// ListenGreeting opens a host loopback listener that greets every
// connection; it is closed when the test ends.
func ListenGreeting(t testing.TB, greeting string) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go ServeGreeting(ln, greeting)
	return ln
}

// ServeGreeting writes greeting to every connection until ln is closed.
func ServeGreeting(ln net.Listener, greeting string) {
	for {
		conn, err := ln.Accept()
		if err != nil {
			return
		}
		_, _ = conn.Write([]byte(greeting))
		conn.Close()
	}
}

// GatewayNetns creates a network namespace of its own for the test with a
// loopback listener inside that greets with "gateway", and deletes both
// when the test ends. It returns the namespace's path and the listener.
func GatewayNetns(t testing.TB) (string, net.Listener) {
	t.Helper()
	name := "moat-test-" + strings.TrimPrefix(ids.NewRun(), "r-")
	path, err := netns.Create(name)
	if err != nil {
		t.Fatalf("netns.Create: %v", err)
	}
	t.Cleanup(func() {
		if err := netns.Delete(name); err != nil {
			t.Errorf("netns.Delete: %v", err)
		}
	})

	inner, err := netns.Listen(path, "127.0.0.1:0")
	if err != nil {
		t.Fatalf("netns.Listen: %v", err)
	}
	t.Cleanup(func() { inner.Close() })
	go ServeGreeting(inner, "gateway")
	return path, inner
}
