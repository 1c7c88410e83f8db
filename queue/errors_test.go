package queue

import (
	"errors"
	"fmt"
	"syscall"
	"testing"

	"github.com/mattn/go-sqlite3"
)

func TestStorageError(t *testing.T) {
	tests := []struct {
		code  sqlite3.ErrNo
		errno syscall.Errno
		want  error
	}{
		{code: sqlite3.ErrIoErr, errno: syscall.EROFS, want: ErrStorageReadOnly},
		{code: sqlite3.ErrIoErr, errno: syscall.EPERM, want: ErrStorageReadOnly},
		{code: sqlite3.ErrIoErr, errno: syscall.EDQUOT, want: ErrStorageFull},
		{code: sqlite3.ErrIoErr, errno: syscall.EFBIG, want: ErrStorageUnavailable},
		{code: sqlite3.ErrFull, want: ErrStorageFull},
		{code: sqlite3.ErrReadonly, want: ErrStorageReadOnly},
		{code: sqlite3.ErrBusy, want: ErrStorageLocked},
		{code: sqlite3.ErrLocked, want: ErrStorageLocked},
		{code: sqlite3.ErrIoErr, want: ErrStorageUnavailable},
		{code: sqlite3.ErrCorrupt, want: ErrStorageUnavailable},
	}
	for _, tt := range tests {
		raw := fmt.Errorf("commit: %w", sqlite3.Error{Code: tt.code, SystemErrno: tt.errno})
		got := storageError(raw)
		var se sqlite3.Error
		if !errors.Is(got, tt.want) || !errors.As(got, &se) {
			t.Errorf("code %d: %v is not %v wrapping the SQLite error", tt.code, got, tt.want)
		}
	}
	constraint := sqlite3.Error{Code: sqlite3.ErrConstraint}
	if got := storageError(constraint); !errors.Is(got, constraint) || errors.Is(got, ErrStorageUnavailable) {
		t.Errorf("a constraint error (a bug) was classified: %v", got)
	}
	if storageError(nil) != nil {
		t.Error("nil became an error")
	}
}
