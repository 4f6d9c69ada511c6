//go:build !linux

package query

import "syscall"

func childSysProcAttr() *syscall.SysProcAttr {
	return nil
}
