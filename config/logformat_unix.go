//go:build unix

package config

import (
	"fmt"
	"os"
	"syscall"
)

// fileID is f's "DEVICE:INODE" as JOURNAL_STREAM spells it.
func fileID(f *os.File) (string, bool) {
	fi, err := f.Stat()
	if err != nil {
		return "", false
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return "", false
	}
	return fmt.Sprintf("%d:%d", st.Dev, st.Ino), true
}
