// Package ready writes and reads the ready files of bridged serve and
// bridged sim: a small JSON document a process writes once it listens, so
// that tools (tests, bench/load, scripts) learn its addresses from a file
// written for them rather than from a log line meant for people.
package ready

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// Serve is what "bridged serve -ready-file" writes once its HTTP listener
// accepts and the daemon takes work.
type Serve struct {
	PID    int    `json:"pid"`
	Listen string `json:"listen"` // host:port the API listens on
}

// Sim is what "bridged sim -ready-file" writes once its control listener
// and every modem's pty exist.
type Sim struct {
	PID     int     `json:"pid"`
	Control string  `json:"control"` // as "bridged sim ctl -control" takes it
	Modems  []Modem `json:"modems"`
}

// Modem is one simulated modem of a Sim.
type Modem struct {
	ID     string `json:"id"`
	Path   string `json:"path"` // the pty to open as a modem's device
	Number string `json:"number"`
}

// Write stores doc as JSON at path, mode 0600, atomically: a reader sees
// either no file or the whole document, never a half-written one. It
// returns an error naming path when the file cannot be written.
func Write(path string, doc any) error {
	b, err := json.Marshal(doc)
	if err != nil {
		return fmt.Errorf("ready file %s: %w", path, err)
	}
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("ready file %s: %w", path, err)
	}
	tmp := f.Name()
	_, err = f.Write(append(b, '\n'))
	if err == nil {
		// CreateTemp already made it 0600; Chmod says so for a reader.
		err = f.Chmod(0o600)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("ready file %s: %w", path, err)
	}
	return nil
}

// Remove deletes the ready file at path, at a clean exit; a file already
// gone is not an error.
func Remove(path string) error {
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("ready file %s: %w", path, err)
	}
	return nil
}

// Read decodes the ready file at path into doc (a *Serve or a *Sim) and
// returns the pid of the process that wrote it. A missing file is an error
// wrapping os.ErrNotExist: the process is not ready yet.
func Read(path string, doc any) (int, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, fmt.Errorf("ready file %s: %w", path, err)
	}
	var head struct {
		PID int `json:"pid"`
	}
	if err := json.Unmarshal(b, &head); err != nil {
		return 0, fmt.Errorf("ready file %s: %w", path, err)
	}
	if doc != nil {
		if err := json.Unmarshal(b, doc); err != nil {
			return 0, fmt.Errorf("ready file %s: %w", path, err)
		}
	}
	return head.PID, nil
}
