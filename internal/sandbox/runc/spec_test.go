package runc

import (
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/moatdev/moat/internal/sandbox"
	"github.com/moatdev/moat/internal/sandbox/seccomp"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func testSpec(t *testing.T) sandbox.Spec {
	t.Helper()
	return sandbox.Spec{
		ID:        "r-0123456789abcdef",
		BundleDir: t.TempDir(),
		Args:      []string{"/usr/bin/python3", "main.py"},
		Env:       []string{"PATH=/usr/bin"},
		NetnsPath: "/var/run/netns/moat-r-0123456789abcdef",
		Limits:    sandbox.Limits{CPU: 0.5, MemoryBytes: 256 << 20, Pids: 64, TmpBytes: 32 << 20},
		UID:       1000,
		GID:       1000,
	}
}

func findMount(t *testing.T, spec *specs.Spec, destination string) specs.Mount {
	t.Helper()
	for _, m := range spec.Mounts {
		if m.Destination == destination {
			return m
		}
	}
	t.Fatalf("no mount at %q", destination)
	return specs.Mount{}
}

func TestRenderSpecMounts(t *testing.T) {
	s := testSpec(t)
	spec := renderSpec(s, newRunDirs("/run/moat/sandboxes", s.ID), "/moat/"+s.ID, nil)

	cases := []struct {
		destination string
		want        []string
		absent      []string
	}{
		{"/usr", []string{"bind", "ro", "nosuid", "nodev"}, []string{"rbind", "noexec"}},
		{"/etc", []string{"bind", "ro", "nosuid", "nodev", "noexec"}, []string{"rbind"}},
		{"/job", []string{"bind", "ro", "nosuid", "nodev"}, []string{"rbind", "noexec"}},
		{"/tmp", []string{"nosuid", "nodev", "mode=1777", "size=33554432"}, nil},
		{"/proc", []string{"nosuid", "noexec", "nodev"}, nil},
		{"/dev/shm", []string{"nosuid", "noexec", "nodev"}, nil},
	}
	for _, c := range cases {
		m := findMount(t, spec, c.destination)
		for _, opt := range c.want {
			if !slices.Contains(m.Options, opt) {
				t.Errorf("mount %q options %q lack %q", c.destination, m.Options, opt)
			}
		}
		for _, opt := range c.absent {
			if slices.Contains(m.Options, opt) {
				t.Errorf("mount %q options %q contain %q", c.destination, m.Options, opt)
			}
		}
	}

	if job := findMount(t, spec, "/job"); job.Source != s.BundleDir {
		t.Errorf("/job source = %q, want %q", job.Source, s.BundleDir)
	}
	for _, m := range spec.Mounts {
		if m.Destination == "/sys" || m.Destination == "/dev/pts" {
			t.Errorf("spec mounts %q, which must stay absent", m.Destination)
		}
	}
}

func TestRenderSpecProcess(t *testing.T) {
	s := testSpec(t)
	spec := renderSpec(s, newRunDirs("/run/moat/sandboxes", s.ID), "/moat/"+s.ID, nil)

	p := spec.Process
	if p.User.UID != 1000 || p.User.GID != 1000 || len(p.User.AdditionalGids) != 0 {
		t.Errorf("user = %+v, want uid 1000 gid 1000 and no extra groups", p.User)
	}
	if !p.NoNewPrivileges {
		t.Error("noNewPrivileges is false")
	}
	if p.Terminal {
		t.Error("terminal is true")
	}
	if p.Cwd != "/job" {
		t.Errorf("cwd = %q, want /job", p.Cwd)
	}
	if !spec.Root.Readonly {
		t.Error("root is writable")
	}
	if spec.Hostname != "moat-job" {
		t.Errorf("hostname = %q", spec.Hostname)
	}

	// The capabilities object must be present: runc reads a missing one as
	// "leave capabilities alone", and an empty one as "drop every set".
	// runtime-spec omits empty sets, so it encodes as {}.
	encoded, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(encoded), `"capabilities":{}`) {
		t.Errorf("process = %s, want \"capabilities\":{}", encoded)
	}

	wantRlimits := []specs.POSIXRlimit{{Type: "RLIMIT_NOFILE", Hard: 1024, Soft: 1024}, {Type: "RLIMIT_CORE"}}
	if !slices.Equal(p.Rlimits, wantRlimits) {
		t.Errorf("rlimits = %+v, want %+v", p.Rlimits, wantRlimits)
	}
}

func TestRenderSpecLinux(t *testing.T) {
	s := testSpec(t)
	spec := renderSpec(s, newRunDirs("/run/moat/sandboxes", s.ID), "/moat/"+s.ID, nil)
	l := spec.Linux

	if l.CgroupsPath != "/moat/r-0123456789abcdef" {
		t.Errorf("cgroupsPath = %q", l.CgroupsPath)
	}
	var types []string
	for _, ns := range l.Namespaces {
		types = append(types, string(ns.Type))
		if ns.Type == specs.NetworkNamespace && ns.Path != s.NetnsPath {
			t.Errorf("network namespace path = %q, want %q", ns.Path, s.NetnsPath)
		}
		if ns.Type != specs.NetworkNamespace && ns.Path != "" {
			t.Errorf("namespace %q joins %q, want a new one", ns.Type, ns.Path)
		}
	}
	if want := []string{"pid", "ipc", "uts", "mount", "network", "cgroup"}; !slices.Equal(types, want) {
		t.Errorf("namespaces = %q, want %q", types, want)
	}

	r := l.Resources
	if *r.Memory.Limit != 256<<20 || *r.Memory.Swap != 256<<20 {
		t.Errorf("memory limit %d swap %d, want both %d", *r.Memory.Limit, *r.Memory.Swap, 256<<20)
	}
	if *r.CPU.Quota != 50_000 || *r.CPU.Period != 100_000 {
		t.Errorf("cpu quota %d period %d, want 50000/100000", *r.CPU.Quota, *r.CPU.Period)
	}
	if *r.Pids.Limit != 64 {
		t.Errorf("pids limit %d, want 64", *r.Pids.Limit)
	}

	for _, p := range []string{"/proc/kcore", "/proc/keys", "/proc/timer_list", "/proc/sched_debug", "/proc/acpi", "/proc/scsi", "/sys/firmware", "/proc/interrupts", "/proc/kallsyms"} {
		if !slices.Contains(l.MaskedPaths, p) {
			t.Errorf("maskedPaths lack %q", p)
		}
	}
	for _, p := range []string{"/proc/sys", "/proc/sysrq-trigger", "/proc/irq", "/proc/bus"} {
		if !slices.Contains(l.ReadonlyPaths, p) {
			t.Errorf("readonlyPaths lack %q", p)
		}
	}
}

func TestRenderSpecSeccomp(t *testing.T) {
	s := testSpec(t)
	got := renderSpec(s, newRunDirs("/run/moat/sandboxes", s.ID), "/moat/"+s.ID, nil).Linux.Seccomp

	// The rules themselves are tested in package seccomp.
	if !reflect.DeepEqual(got, seccomp.Profile()) {
		t.Errorf("rendered seccomp profile differs from seccomp.Profile()")
	}
}

func TestValidateSpecRejects(t *testing.T) {
	cases := []struct {
		name   string
		change func(*sandbox.Spec)
		want   string
	}{
		{"root uid", func(s *sandbox.Spec) { s.UID = 0 }, "never run as root"},
		{"root gid", func(s *sandbox.Spec) { s.GID = 0 }, "never run as root"},
		{"bad id", func(s *sandbox.Spec) { s.ID = "../etc" }, "invalid identifier"},
		{"relative program", func(s *sandbox.Spec) { s.Args = []string{"python3"} }, "absolute path"},
		{"no args", func(s *sandbox.Spec) { s.Args = nil }, "absolute path"},
		{"missing bundle", func(s *sandbox.Spec) { s.BundleDir = "/nonexistent/bundle" }, "not a directory"},
		{"zero cpu", func(s *sandbox.Spec) { s.Limits.CPU = 0 }, "cpu limit"},
		{"tiny cpu", func(s *sandbox.Spec) { s.Limits.CPU = 0.001 }, "0.01 cores"},
		{"zero memory", func(s *sandbox.Spec) { s.Limits.MemoryBytes = 0 }, "memory limit"},
		{"zero pids", func(s *sandbox.Spec) { s.Limits.Pids = 0 }, "pids limit"},
		{"tmp as big as memory", func(s *sandbox.Spec) { s.Limits.TmpBytes = s.Limits.MemoryBytes }, "tmp size"},
		{"relative netns", func(s *sandbox.Spec) { s.NetnsPath = "netns" }, "netns path"},
		{"mount over usr", func(s *sandbox.Spec) { s.Mounts = []sandbox.Mount{{Source: "/usr", Destination: "/usr/lib/x"}} }, "overlaps"},
		{"mount over root", func(s *sandbox.Spec) { s.Mounts = []sandbox.Mount{{Source: "/usr", Destination: "/"}} }, "overlaps"},
		{"unclean mount", func(s *sandbox.Spec) { s.Mounts = []sandbox.Mount{{Source: "/usr", Destination: "/opt/../proc"}} }, "clean absolute"},
		{"relative mount source", func(s *sandbox.Spec) { s.Mounts = []sandbox.Mount{{Source: "usr", Destination: "/opt/sdk"}} }, "absolute host path"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := testSpec(t)
			c.change(&s)

			err := validateSpec(s)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("validateSpec error = %v, want one containing %q", err, c.want)
			}
		})
	}
}

func TestValidateSpecAccepts(t *testing.T) {
	s := testSpec(t)
	s.Mounts = []sandbox.Mount{{Source: "/usr", Destination: "/opt/moat-sdk"}}

	if err := validateSpec(s); err != nil {
		t.Errorf("validateSpec: %v", err)
	}
}

func TestVersionParsesRunc(t *testing.T) {
	requireRunc(t)
	cfg, err := withDefaults(Config{})
	if err != nil {
		t.Fatal(err)
	}

	v, err := Version(cfg.Binary)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(v, "runc 1.") {
		t.Errorf("Version = %q, want \"runc 1.x.y\"", v)
	}
}

func TestConfigRejectsBadPaths(t *testing.T) {
	cases := []Config{
		{StateRoot: "relative"},
		{WorkDir: "/"},
		{CgroupParent: "a/b"},
		{CgroupParent: ".."},
	}
	for _, cfg := range cases {
		cfg.Binary = "/bin/true"
		if _, err := withDefaults(cfg); err == nil {
			t.Errorf("withDefaults(%+v) accepted an invalid config", cfg)
		}
	}
}

func TestRenderSpecCopiedLayoutBindsOnlyUsr(t *testing.T) {
	s := testSpec(t)
	s.Mounts = []sandbox.Mount{{Source: t.TempDir(), Destination: "/opt/moat/python"}}
	d := runDirs{top: "/w/" + s.ID, bundle: "/w/" + s.ID + "/bundle", rootfs: "/r/" + s.ID, copied: true}

	spec := renderSpec(s, d, "/moat/"+s.ID, nil)

	var binds []string
	for _, m := range spec.Mounts {
		if m.Type == "bind" {
			binds = append(binds, m.Source+" on "+m.Destination)
		}
	}
	if want := []string{"/usr on /usr"}; !slices.Equal(binds, want) {
		t.Errorf("bind mounts = %q, want only %q: /etc, /job and the extra mounts are copies in the root", binds, want)
	}
	if spec.Root.Path != d.rootfs || !spec.Root.Readonly {
		t.Errorf("root = %+v, want read-only %q", spec.Root, d.rootfs)
	}
}
