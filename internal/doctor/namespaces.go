package doctor

import (
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
)

// namespaceKinds are the namespaces every sandbox gets, with their entry in
// /proc/self/ns and their clone flag.
var namespaceKinds = []struct {
	name  string
	entry string
	flag  uintptr
}{
	{"user", "user", syscall.CLONE_NEWUSER},
	{"net", "net", syscall.CLONE_NEWNET},
	{"pid", "pid", syscall.CLONE_NEWPID},
	{"mount", "mnt", syscall.CLONE_NEWNS},
	{"ipc", "ipc", syscall.CLONE_NEWIPC},
	{"uts", "uts", syscall.CLONE_NEWUTS},
}

const maxUserNamespacesPath = "/proc/sys/user/max_user_namespaces"

// probeBinary is started once in new namespaces of every kind to prove
// that the kernel lets moat create them.
const probeBinary = "/bin/true"

func checkNamespaces() Check {
	const name = "namespaces"

	var missing []string
	var flags uintptr
	for _, ns := range namespaceKinds {
		if _, err := os.Readlink("/proc/self/ns/" + ns.entry); err != nil {
			missing = append(missing, ns.name)
		}
		flags |= ns.flag
	}
	if len(missing) > 0 {
		return fail(name, "the kernel has no "+strings.Join(missing, ", ")+" namespace support (/proc/self/ns)",
			"use a kernel built with CONFIG_USER_NS, CONFIG_NET_NS, CONFIG_PID_NS, CONFIG_IPC_NS and CONFIG_UTS_NS")
	}

	maxUser, err := readInt(maxUserNamespacesPath)
	if err != nil {
		return fail(name, "cannot read "+maxUserNamespacesPath+": "+err.Error(), "use a kernel with user namespace support")
	}
	if maxUser == 0 {
		return fail(name, maxUserNamespacesPath+" is 0, so user namespaces cannot be created",
			"sysctl -w user.max_user_namespaces=15000 (and persist it in /etc/sysctl.d/)")
	}

	// The probe process exits at once; its namespaces go with it.
	cmd := exec.Command(probeBinary)
	cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: flags}
	if err := cmd.Run(); err != nil {
		return fail(name, fmt.Sprintf("starting %s in new user, net, pid, mount, ipc and uts namespaces failed: %v", probeBinary, err),
			"run moat as root, and check that no sysctl or security module (kernel.unprivileged_userns_clone, AppArmor, SELinux) blocks namespace creation")
	}

	return ok(name, fmt.Sprintf("user, net, pid, mount, ipc and uts namespaces can be created; max_user_namespaces %d", maxUser))
}

func readInt(path string) (int, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	return strconv.Atoi(strings.TrimSpace(string(b)))
}
