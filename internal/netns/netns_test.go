package netns

import (
	"errors"
	"io"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
)

func requireRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: creates network namespaces")
	}
}

// createTestNetns creates a uniquely named namespace and deletes it after
// the test.
func createTestNetns(t *testing.T) (name, path string) {
	t.Helper()
	requireRoot(t)
	name = "moat-test-" + strconv.Itoa(os.Getpid()) + "-" + strconv.FormatInt(time.Now().UnixNano()%1e9, 10)

	path, err := Create(name)
	if err != nil {
		t.Fatalf("Create(%q): %v", name, err)
	}
	t.Cleanup(func() {
		if err := Delete(name); err != nil {
			t.Errorf("Delete(%q): %v", name, err)
		}
	})
	return name, path
}

func TestValidateName(t *testing.T) {
	for _, bad := range []string{"", "moat-", "other-ns", "moat-A", "moat-a/b", "moat-../x", "moat-" + strings.Repeat("a", 59)} {
		if err := ValidateName(bad); !errors.Is(err, ErrInvalidName) {
			t.Errorf("ValidateName(%q) = %v, want ErrInvalidName", bad, err)
		}
	}
	for _, good := range []string{"moat-r-0123456789abcdef", "moat-a", "moat-x_y"} {
		if err := ValidateName(good); err != nil {
			t.Errorf("ValidateName(%q) = %v", good, err)
		}
	}
}

func TestCreateHasOnlyLoopbackUp(t *testing.T) {
	name, path := createTestNetns(t)

	if path != "/var/run/netns/"+name {
		t.Errorf("path = %q, want /var/run/netns/%s", path, name)
	}
	var links []string
	var loUp bool
	err := runIn(t, path, func() error {
		list, err := netlink.LinkList()
		for _, l := range list {
			links = append(links, l.Attrs().Name)
			if l.Attrs().Name == "lo" {
				loUp = l.Attrs().Flags&net.FlagUp != 0
			}
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(links, []string{"lo"}) {
		t.Errorf("links = %q, want only lo", links)
	}
	if !loUp {
		t.Error("lo is down")
	}
}

func TestCreateExistingFails(t *testing.T) {
	name, _ := createTestNetns(t)

	if _, err := Create(name); err == nil {
		t.Errorf("second Create(%q) succeeded", name)
	}
}

func TestListAndDelete(t *testing.T) {
	name, _ := createTestNetns(t)

	names, err := List("moat-test-")
	if err != nil || !slices.Contains(names, name) {
		t.Errorf("List = %q, %v, want it to contain %q", names, err, name)
	}

	if err := Delete(name); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if err := Delete(name); err != nil {
		t.Errorf("second Delete: %v, want nil", err)
	}
	names, _ = List("moat-test-")
	if slices.Contains(names, name) {
		t.Errorf("List still contains %q after Delete", name)
	}
	mountinfo, _ := os.ReadFile("/proc/self/mountinfo")
	if strings.Contains(string(mountinfo), name) {
		t.Errorf("a mount of %q remains", name)
	}
}

func TestListenReachableOnlyInside(t *testing.T) {
	_, path := createTestNetns(t)
	ln, err := Listen(path, "127.0.0.1:0")
	if err != nil {
		t.Fatalf("Listen: %v", err)
	}
	defer ln.Close()
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			_, _ = conn.Write([]byte("inside"))
			conn.Close()
		}
	}()
	addr := ln.Addr().String()

	var got []byte
	err = runIn(t, path, func() error {
		conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
		if err != nil {
			return err
		}
		defer conn.Close()
		got, err = io.ReadAll(conn)
		return err
	})
	if err != nil || string(got) != "inside" {
		t.Errorf("dial from inside the namespace: %q, %v, want %q", got, err, "inside")
	}

	conn, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err == nil {
		conn.Close()
		t.Errorf("the host reached %s, a listener inside the namespace", addr)
	}
}

func TestListenRejectsMissingNamespace(t *testing.T) {
	requireRoot(t)

	if _, err := Listen("/var/run/netns/moat-does-not-exist", "127.0.0.1:0"); err == nil {
		t.Error("Listen in a missing namespace succeeded")
	}
}

// runIn runs fn on a thread inside the namespace at path.
func runIn(t *testing.T, path string, fn func() error) error {
	t.Helper()
	target, err := netns.GetFromPath(path)
	if err != nil {
		t.Fatal(err)
	}
	defer target.Close()
	return inNetns(target, fn)
}
