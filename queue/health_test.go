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
