package queue

import (
	"errors"
	"fmt"
	"testing"

	"github.com/mattn/go-sqlite3"
)

func TestStorageError(t *testing.T) {
	tests := []struct {
		code sqlite3.ErrNo
		want error
	}{
		{sqlite3.ErrFull, ErrStorageFull},
		{sqlite3.ErrReadonly, ErrStorageReadOnly},
		{sqlite3.ErrBusy, ErrStorageLocked},
		{sqlite3.ErrLocked, ErrStorageLocked},
		{sqlite3.ErrIoErr, ErrStorageUnavailable},
		{sqlite3.ErrCorrupt, ErrStorageUnavailable},
	}
	for _, tt := range tests {
		raw := fmt.Errorf("commit: %w", sqlite3.Error{Code: tt.code})
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
