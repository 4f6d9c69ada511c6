package query

import "syscall"

// childSysProcAttr puts the engine in its own process group, so a terminal's
// Ctrl-C reaches moat (which then closes the client) rather than the engine,
// and has the kernel kill the engine if the thread that started it dies.
// Go can retire that thread while moat lives on, so Close remains the normal
// way to end the engine.
func childSysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
