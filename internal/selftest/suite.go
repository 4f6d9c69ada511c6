package selftest

import (
	"errors"
	"io/fs"
	"os"

	"github.com/moatdev/moat/internal/audit"
	"github.com/moatdev/moat/internal/worker"
)

// Suite returns the attacks with the outcomes the named runtime must
// produce: runc's, changed by the documented differences of runsc.
func Suite(runtime string) []Attack {
	attacks := append(resourceAttacks(), kernelAttacks()...)
	attacks = append(attacks, procAttacks()...)
	attacks = append(attacks, networkAttacks()...)
	attacks = append(attacks, supervisionAttacks()...)
	attacks = append(attacks, gatewayAttacks()...)

	if runtime == "runsc" {
		applyDifferences(attacks, runscDifferences)
	}
	return attacks
}

// resourceAttacks exhaust pids, memory, CPU and the writable filesystems.
func resourceAttacks() []Attack {
	// 32 pids with 128Mi: the forked Python children stay far below the
	// memory limit, so the pids limit is what stops the bomb.
	forkBomb := defaultResources

	memory := defaultResources
	memory.memory = "64Mi"

	cpu := defaultResources
	cpu.cpu = "0.5"

	return []Attack{
		{
			Name:  "fork_bomb",
			Goal:  "fork until the kernel refuses; the pids limit stops it",
			Files: pythonJob("fork_bomb", "fork_bomb", forkBomb, manifestOptions{}),
			Expect: Expect{
				Cause:   worker.CausePidsExhausted,
				Results: map[string]string{"fork": "EAGAIN"},
				Check:   checkPidsHits,
			},
		},
		{
			Name:  "fork_bomb_userns",
			Goal:  "create a user namespace, then fork bomb; unshare fails first",
			Files: pythonJob("fork_bomb_userns", "fork_bomb_userns", forkBomb, manifestOptions{}),
			Expect: Expect{
				Cause:   worker.CausePidsExhausted,
				Results: map[string]string{"unshare_user": "EPERM", "fork": "EAGAIN"},
				Check:   checkPidsHits,
			},
		},
		{
			Name:   "memory_bomb",
			Goal:   "allocate without end in one process; the memory limit kills it",
			Files:  pythonJob("memory_bomb", "memory_bomb", memory, manifestOptions{}),
			Expect: Expect{Cause: worker.CauseOOM, Check: checkOOMKills},
		},
		{
			Name:   "memory_bomb_procs",
			Goal:   "allocate without end in four processes; the memory limit covers them together",
			Files:  pythonJob("memory_bomb_procs", "memory_bomb_procs", memory, manifestOptions{}),
			Expect: Expect{Cause: worker.CauseOOM, Check: checkOOMKills},
		},
		{
			Name:  "cpu_spinner",
			Goal:  "spin two processes for 3 s under a 0.5 CPU quota",
			Files: pythonJob("cpu_spinner", "cpu_spin", cpu, manifestOptions{}),
			Expect: Expect{
				Cause:   worker.CauseSucceeded,
				Results: map[string]string{"spin": "OK"},
				Check:   checkCPUQuota(0.5),
			},
		},
		{
			Name:  "tmp_fill",
			Goal:  "fill /tmp; its tmpfs size stops the writes",
			Files: pythonJob("tmp_fill", "tmp_fill", defaultResources, manifestOptions{}),
			Expect: Expect{
				Cause:   worker.CauseSucceeded,
				Results: map[string]string{"tmp_fill": "ENOSPC"},
			},
		},
		{
			Name:  "shm_fill",
			Goal:  "fill /dev/shm; its tmpfs size stops the writes",
			Files: pythonJob("shm_fill", "shm_fill", defaultResources, manifestOptions{}),
			Expect: Expect{
				Cause:   worker.CauseSucceeded,
				Results: map[string]string{"shm_fill": "ENOSPC"},
			},
		},
	}
}

// kernelAttacks reach for kernel interfaces a job never needs.
func kernelAttacks() []Attack {
	r := defaultResources
	return []Attack{
		{
			Name:  "write_root",
			Goal:  "write to /, /usr, /etc and /job; all are read-only, /tmp is not",
			Files: pythonJob("write_root", "write_root", r, manifestOptions{}),
			Expect: Expect{
				Cause: worker.CauseSucceeded,
				Results: map[string]string{
					"write_root": "EROFS", "write_usr": "EROFS", "write_etc": "EROFS",
					"write_job": "EROFS", "write_tmp": "OK",
				},
			},
		},
		{
			Name:  "mount",
			Goal:  "mount a tmpfs and a proc, unmount /proc",
			Files: pythonJob("mount", "mount", r, manifestOptions{}),
			Expect: Expect{
				Cause:   worker.CauseSucceeded,
				Results: map[string]string{"mount_tmpfs": "EPERM", "mount_proc": "EPERM", "umount_proc": "EPERM"},
			},
		},
		{
			Name:  "user_namespace",
			Goal:  "enter a new user namespace with unshare -U, unshare(2), clone(2) and clone3(2)",
			Files: pythonJob("user_namespace", "userns", r, manifestOptions{}),
			Expect: Expect{
				Cause: worker.CauseSucceeded,
				Results: map[string]string{
					"unshare_command": "EPERM", "unshare_user": "EPERM", "clone_newuser": "EPERM",
					// seccomp cannot read clone3's flags, so the profile
					// returns ENOSYS and the C library falls back to clone.
					"clone3_newuser": "ENOSYS",
				},
			},
		},
		{
			Name:  "ptrace",
			Goal:  "PTRACE_TRACEME and PTRACE_ATTACH to its own child",
			Files: pythonJob("ptrace", "ptrace", r, manifestOptions{}),
			Expect: Expect{
				Cause:   worker.CauseSucceeded,
				Results: map[string]string{"ptrace_traceme": "EPERM", "ptrace_attach": "EPERM"},
			},
		},
		{
			Name:  "keyctl",
			Goal:  "reach the kernel keyring with keyctl(2) and add_key(2)",
			Files: pythonJob("keyctl", "keyctl", r, manifestOptions{}),
			Expect: Expect{
				Cause:   worker.CauseSucceeded,
				Results: map[string]string{"keyctl": "EPERM", "add_key": "EPERM"},
			},
		},
		{
			Name:  "bpf",
			Goal:  "create a BPF map",
			Files: pythonJob("bpf", "bpf", r, manifestOptions{}),
			Expect: Expect{
				Cause:   worker.CauseSucceeded,
				Results: map[string]string{"bpf_map_create": "EPERM"},
			},
		},
		{
			Name:  "io_uring",
			Goal:  "set up an io_uring instance",
			Files: pythonJob("io_uring", "io_uring", r, manifestOptions{}),
			Expect: Expect{
				Cause:   worker.CauseSucceeded,
				Results: map[string]string{"io_uring_setup": "EPERM"},
			},
		},
		{
			Name:  "raw_socket",
			Goal:  "open a raw ICMP socket and an AF_PACKET socket",
			Files: pythonJob("raw_socket", "raw_socket", r, manifestOptions{}),
			Expect: Expect{
				Cause:   worker.CauseSucceeded,
				Results: map[string]string{"raw_icmp": "EPERM", "packet": "EPERM"},
			},
		},
		{
			Name:  "setuid_binary",
			Goal:  "exec a setuid-root binary of the host's /usr; its effective uid stays the job's",
			Files: pythonJob("setuid_binary", "setuid", r, manifestOptions{}),
			Expect: Expect{
				Cause:   worker.CauseSucceeded,
				Results: map[string]string{"no_new_privs": "1", "setuid_euid": "UNCHANGED"},
			},
		},
	}
}

// procAttacks look through /proc and /sys for the host.
func procAttacks() []Attack {
	r := defaultResources
	return []Attack{
		{
			Name:  "proc_kcore",
			Goal:  "read the kernel's memory through /proc/kcore",
			Files: pythonJob("proc_kcore", "proc_kcore", r, manifestOptions{}),
			Expect: Expect{
				Cause:   worker.CauseSucceeded,
				Results: map[string]string{"kcore": kcoreOutcome()},
			},
		},
		{
			Name:  "proc_host_view",
			Goal:  "find host processes, cgroup paths and host directories in /proc",
			Files: pythonJob("proc_host_view", "proc_host", r, manifestOptions{}),
			Expect: Expect{
				Cause: worker.CauseSucceeded,
				Results: map[string]string{
					"proc_pids": "1", "ppid": "0", "cgroup_paths": "ROOT", "mountinfo_host_paths": "NONE",
				},
			},
		},
		{
			Name:  "sys_cgroup_write",
			Goal:  "write to the cgroup filesystem; /sys is not mounted and / is read-only",
			Files: pythonJob("sys_cgroup_write", "sys_cgroup", r, manifestOptions{}),
			Expect: Expect{
				Cause: worker.CauseSucceeded,
				Results: map[string]string{
					"sys_cgroup_procs": "ENOENT", "sys_cgroup_pids_max": "ENOENT", "sys_mkdir": "EROFS",
				},
			},
		},
		{
			Name:  "proc_self_exe_write",
			Goal:  "open /proc/self/exe for writing, as CVE-2019-5736 did to overwrite runc",
			Files: pythonJob("proc_self_exe_write", "proc_self_exe", r, manifestOptions{}),
			Expect: Expect{
				Cause: worker.CauseSucceeded,
				// The python3 binary belongs to root with mode 0755, so the
				// permission check fails before the read-only mount or the
				// running text would.
				Results: map[string]string{"self_exe_wronly": "EACCES", "self_exe_rdwr": "EACCES"},
			},
		},
	}
}

// kcoreOutcome returns what reading /proc/kcore gives under runc: EMPTY where
// the host kernel has the file, because runc masks it by bind-mounting
// /dev/null over it, and ENOENT on kernels built without CONFIG_PROC_KCORE.
func kcoreOutcome() string {
	if _, err := os.Stat("/proc/kcore"); errors.Is(err, fs.ErrNotExist) {
		return "ENOENT"
	}
	return "EMPTY"
}

// networkAttacks try to leave the run's network namespace.
func networkAttacks() []Attack {
	r := defaultResources
	return []Attack{
		{
			Name:  "tcp_host_loopback",
			Goal:  "connect to a listener on the host's 127.0.0.1",
			Files: pythonJob("tcp_host_loopback", "tcp_host", r, manifestOptions{}),
			Expect: Expect{
				Cause:   worker.CauseSucceeded,
				Results: map[string]string{"tcp_host_loopback": "ECONNREFUSED"},
				Check:   checkListenerUntouched,
			},
		},
		{
			Name:  "tcp_off_host",
			Goal:  "connect to 192.0.2.1:80 (TEST-NET-1); the namespace has no route",
			Files: pythonJob("tcp_off_host", "tcp_off_host", r, manifestOptions{}),
			Expect: Expect{
				Cause:   worker.CauseSucceeded,
				Results: map[string]string{"tcp_off_host": "ENETUNREACH"},
			},
		},
		{
			Name:  "udp_dns",
			Goal:  "send a DNS query to 127.0.0.1:53 and to 192.0.2.53:53",
			Files: pythonJob("udp_dns", "udp_dns", r, manifestOptions{}),
			Expect: Expect{
				Cause:   worker.CauseSucceeded,
				Results: map[string]string{"udp_loopback_53": "ECONNREFUSED", "udp_off_host_53": "ENETUNREACH"},
			},
		},
	}
}

// supervisionAttacks test what the worker enforces around the sandbox.
func supervisionAttacks() []Attack {
	timeout := defaultResources
	timeout.timeout = "2s"

	return []Attack{
		{
			Name:  "stdout_flood",
			Goal:  "write 50 MiB to stdout; the log keeps the cap and a marker",
			Files: pythonJob("stdout_flood", "stdout_flood", defaultResources, manifestOptions{}),
			Expect: Expect{
				Cause: worker.CauseSucceeded,
				Check: checkLogTruncated,
			},
		},
		{
			Name:  "timeout_escape",
			Goal:  "outlive the timeout with a setsid child, a SIGTERM-ignoring child and pid 1",
			Files: pythonJob("timeout_escape", "timeout", timeout, manifestOptions{}),
			Expect: Expect{
				Cause:   worker.CauseTimeout,
				Results: map[string]string{"children_started": "OK"},
				Check:   checkNoMarkerProcess,
			},
		},
		{
			Name:  "env_dump",
			Goal:  "read the environment; only the run's own variables are there",
			Files: pythonJob("env_dump", "env_dump", defaultResources, manifestOptions{}),
			Expect: Expect{
				Cause: worker.CauseSucceeded,
				Results: map[string]string{
					"env_names":       "HOME,LANG,MOAT_GATEWAY_URL,MOAT_JOB,MOAT_ORG,MOAT_RUN_ID,MOAT_TOKEN,PATH,PYTHONPATH",
					"env_path":        "/usr/local/bin:/usr/bin:/bin",
					"env_home":        "/tmp",
					"env_lang":        "C.UTF-8",
					"env_pythonpath":  "/opt/moat/python",
					"env_moat_org":    suiteOrg,
					"env_moat_job":    "selftest-env_dump",
					"env_moat_run_id": runIDPlaceholder,
					"env_gateway_url": "LOOPBACK",
					"env_token":       "SET",
				},
			},
		},
	}
}

// gatewayAttacks misuse the run's gateway.
func gatewayAttacks() []Attack {
	r := defaultResources
	return []Attack{
		{
			Name:  "gateway_forged_token",
			Goal:  "call the gateway with a forged bearer token and with none",
			Files: pythonJob("gateway_forged_token", "gateway_token", r, manifestOptions{}),
			Expect: Expect{
				Cause:   worker.CauseSucceeded,
				Results: map[string]string{"forged_token": "401:unauthenticated", "missing_token": "401:unauthenticated"},
				Audit:   []AuditExpect{{Type: audit.GatewayAuthFail, Reason: "unauthenticated", Count: 2}},
			},
		},
		{
			Name:  "gateway_other_org_path",
			Goal:  "query another org's dataset by its file path",
			Files: pythonJob("gateway_other_org_path", "gateway_other_org", r, manifestOptions{inputs: "[" + suiteDataset + "]"}),
			Expect: Expect{
				Cause:   worker.CauseSucceeded,
				Results: map[string]string{"own_dataset_rows": "1", "other_org_path": "access_denied"},
				Audit: []AuditExpect{
					{Type: audit.Query, Reason: "ok", Count: 1},
					{Type: audit.QueryRejected, Reason: "access_denied", Count: 1},
				},
			},
		},
		{
			Name:  "gateway_undeclared_webhook",
			Goal:  "post to a webhook the manifest does not declare",
			Files: pythonJob("gateway_undeclared_webhook", "gateway_webhook", r, manifestOptions{}),
			Expect: Expect{
				Cause:   worker.CauseSucceeded,
				Results: map[string]string{"undeclared_webhook": "unknown_webhook"},
				Audit:   []AuditExpect{{Type: audit.WebhookRejected, Reason: "unknown_webhook", Count: 1}},
			},
		},
	}
}
