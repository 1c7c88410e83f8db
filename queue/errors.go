package queue

import (
	"errors"
	"fmt"
	"syscall"

	"github.com/mattn/go-sqlite3"
)

// Sentinel errors, for errors.Is.
var (
	// ErrNotFound: no message, inbox message or webhook delivery with that id.
	ErrNotFound = errors.New("not found")
	// ErrIdempotencyConflict: the idempotency key was used before with a
	// different body.
	ErrIdempotencyConflict = errors.New("idempotency key reused with a different body")
	// ErrNotCancellable: the message has started sending or is final.
	ErrNotCancellable = errors.New("message can no longer be cancelled")
	// ErrLeaseLost: the claim a worker holds has expired, was recovered or
	// the message was changed by someone else; the worker must drop it.
	ErrLeaseLost = errors.New("lease lost")
	// ErrSchemaTooNew: the database was written by a newer bridged.
	ErrSchemaTooNew = errors.New("database schema is newer than this bridged")
	// ErrInvalid: a request the store refuses (empty recipient, bad part
	// number, ...). The text of the wrapping error says which field.
	ErrInvalid = errors.New("invalid request")
	// ErrClosed: the store was closed.
	ErrClosed = errors.New("store closed")
)

// Errors of the storage underneath, for errors.Is. They wrap the
// database's own error, which keeps the system's reason in its text. They
// let callers (the HTTP API) tell a person what to do without knowing
// which database is behind the store.
var (
	// ErrStorageFull: the disk holding the database is full.
	ErrStorageFull = errors.New("storage full")
	// ErrStorageReadOnly: the database cannot be written (permissions, a
	// read-only mount, a file moved away).
	ErrStorageReadOnly = errors.New("storage read-only")
	// ErrStorageLocked: another process holds the database's lock.
	ErrStorageLocked = errors.New("storage locked")
	// ErrStorageUnavailable: the database cannot be read or written (I/O
	// error, corruption, a file that is not a database).
	ErrStorageUnavailable = errors.New("storage unavailable")
)

// storageError gives a SQLite failure its kind; other errors pass through.
func storageError(err error) error {
	var se sqlite3.Error
	if err == nil || !errors.As(err, &se) {
		return err
	}
	var kind error
	switch se.Code {
	case sqlite3.ErrFull:
		kind = ErrStorageFull
	case sqlite3.ErrReadonly:
		kind = ErrStorageReadOnly
	case sqlite3.ErrBusy, sqlite3.ErrLocked:
		kind = ErrStorageLocked
	case sqlite3.ErrIoErr, sqlite3.ErrCantOpen, sqlite3.ErrCorrupt, sqlite3.ErrNotADB, sqlite3.ErrProtocol:
		kind = ErrStorageUnavailable
		// SQLite reports a write the file system refused as an I/O error;
		// the system's reason says what a person has to fix. A file system
		// the kernel remounted read-only (EROFS) or a file made immutable
		// (EPERM) is read-only, a quota reached is a full disk.
		switch se.SystemErrno {
		case syscall.EROFS, syscall.EPERM, syscall.EACCES:
			kind = ErrStorageReadOnly
		case syscall.ENOSPC, syscall.EDQUOT:
			kind = ErrStorageFull
		}
	default:
		return err
	}
	return fmt.Errorf("%w: %w", kind, err)
}
