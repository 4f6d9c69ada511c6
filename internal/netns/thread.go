package netns

import (
	"errors"
	"fmt"
	"net"
	"runtime"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// errThreadTainted is wrapped when the OS thread could not be switched
// back to its original network namespace. The thread then stays locked to
// its goroutine and the Go runtime destroys it when the goroutine exits,
// so no other goroutine ever runs in the wrong namespace.
var errThreadTainted = errors.New("failed to restore the thread's network namespace; the thread is discarded")

// Listen opens a TCP listener on addr (for example "127.0.0.1:0") inside
// the network namespace at path, bringing lo up first. The listener keeps
// belonging to that namespace: only processes inside it can connect.
func Listen(path, addr string) (net.Listener, error) {
	target, err := netns.GetFromPath(path)
	if err != nil {
		return nil, fmt.Errorf("open network namespace %q: %w", path, err)
	}
	defer target.Close()

	var ln net.Listener
	err = inNetns(target, func() error {
		if err := loopbackUp(); err != nil {
			return err
		}

		var listenErr error
		ln, listenErr = net.Listen("tcp", addr)
		return listenErr
	})
	if err != nil {
		if ln != nil {
			ln.Close()
		}
		return nil, fmt.Errorf("listen on %q in network namespace %q: %w", addr, path, err)
	}
	return ln, nil
}

// inNetns runs fn on a locked OS thread switched into target and switches
// back. fn must not start goroutines that rely on the namespace: only the
// calling thread is in it.
func inNetns(target netns.NsHandle, fn func() error) error {
	runtime.LockOSThread()

	original, err := netns.Get()
	if err != nil {
		runtime.UnlockOSThread()
		return fmt.Errorf("open current network namespace: %w", err)
	}
	defer original.Close()

	if err := netns.Set(target); err != nil {
		runtime.UnlockOSThread()
		return fmt.Errorf("enter network namespace: %w", err)
	}

	fnErr := fn()

	if err := netns.Set(original); err != nil {
		// Keep the thread locked: see errThreadTainted.
		return errors.Join(fnErr, fmt.Errorf("%w: %w", errThreadTainted, err))
	}
	runtime.UnlockOSThread()
	return fnErr
}

// withNewNetns runs fn on a locked OS thread moved into a new, empty
// network namespace, then switches the thread back. fn receives the
// /proc path of the new namespace, which it must bind-mount to keep the
// namespace alive after the switch back.
func withNewNetns(fn func(threadNs string) error) error {
	runtime.LockOSThread()

	original, err := netns.Get()
	if err != nil {
		runtime.UnlockOSThread()
		return fmt.Errorf("open current network namespace: %w", err)
	}
	defer original.Close()

	if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
		runtime.UnlockOSThread()
		return fmt.Errorf("unshare network namespace: %w", err)
	}

	fnErr := fn(fmt.Sprintf("/proc/self/task/%d/ns/net", unix.Gettid()))

	if err := netns.Set(original); err != nil {
		return errors.Join(fnErr, fmt.Errorf("%w: %w", errThreadTainted, err))
	}
	runtime.UnlockOSThread()
	return fnErr
}

// loopbackUp sets lo up in the calling thread's network namespace.
func loopbackUp() error {
	lo, err := netlink.LinkByName("lo")
	if err != nil {
		return fmt.Errorf("find lo: %w", err)
	}
	if err := netlink.LinkSetUp(lo); err != nil {
		return fmt.Errorf("set lo up: %w", err)
	}
	return nil
}
