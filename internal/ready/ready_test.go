package ready

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestWriteReadRemove(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ready.json")
	if _, err := Read(path, nil); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("Read before Write: %v, want os.ErrNotExist", err)
	}
	want := Sim{PID: 42, Control: "unix:/tmp/ctl.sock", Modems: []Modem{{ID: "sim0", Path: "/tmp/bridged-sim0", Number: "+12015550101"}}}
	if err := Write(path, want); err != nil {
		t.Fatal(err)
	}
	// Written again over itself, as a restart on the same path does.
	if err := Write(path, want); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600", fi.Mode().Perm())
	}
	var got Sim
	pid, err := Read(path, &got)
	if err != nil || pid != 42 || got.Control != want.Control || len(got.Modems) != 1 || got.Modems[0] != want.Modems[0] {
		t.Errorf("Read: pid %d %+v %v, want %+v", pid, got, err, want)
	}
	if entries, _ := os.ReadDir(filepath.Dir(path)); len(entries) != 1 {
		t.Errorf("temporary files left beside the ready file: %v", entries)
	}
	if err := Remove(path); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("after Remove: %v", err)
	}
	if err := Remove(path); err != nil {
		t.Errorf("Remove of a file already gone: %v", err)
	}
}

func TestWriteUnwritableDirectory(t *testing.T) {
	path := filepath.Join(t.TempDir(), "missing", "ready.json")
	if err := Write(path, Serve{PID: 1}); err == nil {
		t.Error("Write into a missing directory succeeded")
	}
}
