package queue

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// PINAttempt is what the store keeps of a SIM PIN entered into a SIM: the
// driver records it before sending AT+CPIN, and marks it refused when the
// SIM refuses it, so that a PIN is never entered twice into the same SIM
// across restarts. It holds no PIN: Hash is SHA-256(Salt || PIN), and with
// 4 to 8 digits a PIN is found from it by trying them all, so the hash only
// keeps the PIN out of the file in clear and tells a changed PIN apart.
type PINAttempt struct {
	// Key names the SIM: "iccid:<ICCID>", or "modem:<id>" when the modem
	// did not tell the ICCID before the PIN.
	Key   string
	Modem string
	ICCID string
	Salt  []byte
	Hash  []byte
	// Refused: the SIM refused the PIN (or may have); false while the
	// attempt's outcome is unknown.
	Refused bool
	// AttemptsLeft is what the SIM had left before the attempt; -1 unknown.
	AttemptsLeft int
	At           time.Time
}

const (
	qPINGet = `SELECT sim_key, modem, iccid, salt, pin_hash, refused, attempts_left, at
		FROM pin_attempts WHERE sim_key = ?`
	qPINPut = `INSERT INTO pin_attempts (sim_key, modem, iccid, salt, pin_hash, refused, attempts_left, at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (sim_key) DO UPDATE SET modem = excluded.modem, iccid = excluded.iccid,
			salt = excluded.salt, pin_hash = excluded.pin_hash, refused = excluded.refused,
			attempts_left = excluded.attempts_left, at = excluded.at`
	qPINDelete = `DELETE FROM pin_attempts WHERE sim_key = ?`
	qPINClear  = `DELETE FROM pin_attempts WHERE modem = ? OR iccid = ? OR sim_key = ?`
)

// PINAttempt returns the attempt recorded for a SIM key; found is false
// when there is none.
func (s *Store) PINAttempt(ctx context.Context, key string) (a PINAttempt, found bool, err error) {
	if s.closed.Load() {
		return PINAttempt{}, false, ErrClosed
	}
	a, err = scanPIN(s.rdb.QueryRowContext(ctx, qPINGet, key))
	if errors.Is(err, sql.ErrNoRows) {
		return PINAttempt{}, false, nil
	}
	if err != nil {
		return PINAttempt{}, false, fmt.Errorf("read PIN attempt: %w", err)
	}
	return a, true, nil
}

func scanPIN(row interface{ Scan(...any) error }) (PINAttempt, error) {
	var (
		a       PINAttempt
		refused int
		at      int64
	)
	if err := row.Scan(&a.Key, &a.Modem, &a.ICCID, &a.Salt, &a.Hash, &refused, &a.AttemptsLeft, &at); err != nil {
		return PINAttempt{}, err
	}
	a.Refused, a.At = refused != 0, fromNanos(at)
	return a, nil
}

// SavePINAttempt records a under a.Key, replacing what was there, and
// returns once it is durable (the driver sends the PIN only then).
func (s *Store) SavePINAttempt(ctx context.Context, a PINAttempt) error {
	if a.Key == "" || len(a.Salt) == 0 || len(a.Hash) == 0 {
		return fmt.Errorf("save PIN attempt: key, salt and hash are required: %w", ErrInvalid)
	}
	refused := 0
	if a.Refused {
		refused = 1
	}
	err := s.write(ctx, func(w *wtx) error {
		_, err := w.Exec(qPINPut, a.Key, a.Modem, a.ICCID, a.Salt, a.Hash, refused, a.AttemptsLeft, nanos(a.At))
		return err
	})
	if err != nil {
		return fmt.Errorf("save PIN attempt: %w", err)
	}
	return nil
}

// DeletePINAttempt removes the attempt recorded under key (the SIM took the
// PIN); none there is not an error.
func (s *Store) DeletePINAttempt(ctx context.Context, key string) error {
	err := s.write(ctx, func(w *wtx) error {
		_, err := w.Exec(qPINDelete, key)
		return err
	})
	if err != nil {
		return fmt.Errorf("delete PIN attempt: %w", err)
	}
	return nil
}

// ClearPIN removes the attempts recorded by the modem with this id, for
// the SIM with this ICCID, or under the key of that modem: what an operator
// runs once the PIN is fixed or the SIM unlocked, so that the configured PIN
// is entered again. It returns how many it removed.
func (s *Store) ClearPIN(ctx context.Context, id string) (int, error) {
	if id == "" {
		return 0, fmt.Errorf("clear PIN: a modem id or ICCID is required: %w", ErrInvalid)
	}
	var n int64
	err := s.write(ctx, func(w *wtx) error {
		res, err := w.Exec(qPINClear, id, id, "modem:"+id)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("clear PIN: %w", err)
	}
	return int(n), nil
}
