package queue

import (
	"context"
	"errors"
	"testing"
)

func TestCheckWritable(t *testing.T) {
	s, _, path := MustOpen(t, Options{})
	before := s.Stats().Commits
	if err := s.CheckWritable(context.Background()); err != nil {
		t.Fatalf("CheckWritable: %v", err)
	}
	if s.Stats().Commits == before {
		t.Error("CheckWritable committed nothing")
	}
	// The schema version is unchanged: the store opens again.
	s2 := MustReopen(t, s, path, Options{})
	if err := s2.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s2.CheckWritable(context.Background()); !errors.Is(err, ErrClosed) {
		t.Errorf("after Close: %v, want ErrClosed", err)
	}
}

// TestReadsAfterClose: reads on a closed store say ErrClosed, as writes do,
// rather than database/sql's "database is closed".
func TestReadsAfterClose(t *testing.T) {
	s, _, _ := MustOpen(t, Options{})
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	_, err1 := s.Get(ctx, 1)
	_, err2 := s.List(ctx, Filter{})
	_, err3 := s.GetInbox(ctx, 1)
	_, err4 := s.ListInbox(ctx, InboxFilter{})
	_, _, err5 := s.NextDue(ctx, ClaimRequest{Modem: "m"})
	for i, err := range []error{err1, err2, err3, err4, err5} {
		if !errors.Is(err, ErrClosed) {
			t.Errorf("read %d after Close: %v, want ErrClosed", i+1, err)
		}
	}
}
