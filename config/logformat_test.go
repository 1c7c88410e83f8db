package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestLogFormatAuto: "auto" logs JSON only to the very stream
// JOURNAL_STREAM names, as systemd sets it for a service's stderr.
func TestLogFormatAuto(t *testing.T) {
	dir := t.TempDir()
	open := func(name string) *os.File {
		f, err := os.Create(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { f.Close() })
		return f
	}
	journal, other := open("journal"), open("other")
	id, ok := fileID(journal)
	if !ok {
		t.Fatal("no device and inode for a file")
	}
	tests := []struct {
		name   string
		format string
		env    string
		w      *os.File
		json   bool
	}{
		{name: "auto to the journal", format: FormatAuto, env: id, w: journal, json: true},
		{name: "auto with the variable inherited, another stderr", format: FormatAuto, env: id, w: other},
		{name: "auto outside systemd", format: FormatAuto, env: "", w: journal},
		{name: "text to the journal", format: FormatText, env: id, w: journal},
		{name: "json anywhere", format: FormatJSON, env: "", w: other, json: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv(EnvJournalStream, tt.env)
			if err := tt.w.Truncate(0); err != nil {
				t.Fatal(err)
			}
			if _, err := tt.w.Seek(0, 0); err != nil {
				t.Fatal(err)
			}
			Log{Level: "info", Format: tt.format}.Logger(tt.w).Info("hello", "k", "v")
			b, err := os.ReadFile(tt.w.Name())
			if err != nil {
				t.Fatal(err)
			}
			isJSON := strings.HasPrefix(string(b), `{"time":`)
			if isJSON != tt.json || !strings.Contains(string(b), "hello") {
				t.Errorf("logged %q, want JSON %v", b, tt.json)
			}
		})
	}
}
