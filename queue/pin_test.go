package queue

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestPINAttempts(t *testing.T) {
	s, _, path := MustOpen(t, Options{})
	ctx := context.Background()
	if _, found, err := s.PINAttempt(ctx, "iccid:1"); found || err != nil {
		t.Fatalf("empty store: found %v, %v", found, err)
	}
	at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	a := PINAttempt{Key: "iccid:89441000301234567890", Modem: "m0", ICCID: "89441000301234567890",
		Salt: []byte("salt"), Hash: []byte("hash"), AttemptsLeft: 3, At: at}
	if err := s.SavePINAttempt(ctx, a); err != nil {
		t.Fatal(err)
	}
	b := PINAttempt{Key: "modem:m1", Modem: "m1", Salt: []byte("s"), Hash: []byte("h"), Refused: true, AttemptsLeft: -1, At: at}
	if err := s.SavePINAttempt(ctx, b); err != nil {
		t.Fatal(err)
	}
	// Durable: another Open sees them.
	s = MustReopen(t, s, path, Options{})
	got, found, err := s.PINAttempt(ctx, a.Key)
	if err != nil || !found || got.Modem != "m0" || got.ICCID != a.ICCID || string(got.Salt) != "salt" ||
		string(got.Hash) != "hash" || got.Refused || got.AttemptsLeft != 3 || !got.At.Equal(at) {
		t.Fatalf("PINAttempt: %+v %v %v", got, found, err)
	}
	// Replaced under the same key.
	a.Refused, a.Modem = true, "m2"
	if err := s.SavePINAttempt(ctx, a); err != nil {
		t.Fatal(err)
	}
	if got, _, _ := s.PINAttempt(ctx, a.Key); !got.Refused || got.Modem != "m2" {
		t.Errorf("after the update: %+v", got)
	}
	if all, err := s.PINAttempts(ctx); err != nil || len(all) != 2 {
		t.Errorf("PINAttempts: %d, %v", len(all), err)
	}

	tests := []struct {
		name, id string
		n        int
	}{
		{"unknown modem", "m9", 0},
		{"by ICCID", "89441000301234567890", 1},
		{"by modem id", "m1", 1},
		{"again", "m1", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if n, err := s.ClearPIN(ctx, tt.id); err != nil || n != tt.n {
				t.Errorf("ClearPIN(%q) = %d, %v; want %d", tt.id, n, err, tt.n)
			}
		})
	}
	if err := s.SavePINAttempt(ctx, b); err != nil {
		t.Fatal(err)
	}
	if err := s.DeletePINAttempt(ctx, b.Key); err != nil {
		t.Fatal(err)
	}
	if _, found, _ := s.PINAttempt(ctx, b.Key); found {
		t.Error("deleted, still there")
	}
	if err := s.SavePINAttempt(ctx, PINAttempt{Key: "x"}); !errors.Is(err, ErrInvalid) {
		t.Errorf("no hash: %v", err)
	}
	if _, err := s.ClearPIN(ctx, ""); !errors.Is(err, ErrInvalid) {
		t.Errorf("empty id: %v", err)
	}
}
