package main

import (
	"database/sql"
	"encoding/json"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"
)

// TestVersion: the Go and SQLite versions are those of this binary, the
// SQLite one as SQLite itself answers it.
func TestVersion(t *testing.T) {
	db, err := sql.Open("sqlite3", "file:"+filepath.Join(t.TempDir(), "v.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var sqliteVersion string
	if err := db.QueryRow("SELECT sqlite_version()").Scan(&sqliteVersion); err != nil {
		t.Fatal(err)
	}

	code, stdout, stderr := runMain(t, "", "version", "-json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var got buildInfo
	if err := json.Unmarshal([]byte(stdout), &got); err != nil {
		t.Fatalf("%v: %s", err, stdout)
	}
	want := buildInfo{Version: "dev", Commit: got.Commit, BuildDate: got.BuildDate, Go: runtime.Version(),
		Platform: runtime.GOOS + "/" + runtime.GOARCH, SQLite: sqliteVersion}
	if got != want || got.Commit == "" || got.BuildDate == "" {
		t.Errorf("version -json = %+v, want %+v", got, want)
	}

	code, stdout, _ = runMain(t, "", "version")
	for _, line := range []string{"bridged dev\n", "\nsqlite:     " + sqliteVersion + "\n", "\ngo:         " + runtime.Version() + " "} {
		if code != 0 || !strings.Contains(stdout, line) {
			t.Errorf("version: exit %d, %q lacks %q", code, stdout, line)
		}
	}
	if code, _, stderr := runMain(t, "", "version", "extra"); code != 2 || !strings.Contains(stderr, `unexpected argument "extra"`) {
		t.Errorf("version extra: exit %d, %q", code, stderr)
	}
}

// TestVersionOfARelease builds bridged as a release is built, with the
// version, commit and date given with -ldflags.
func TestVersionOfARelease(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "bridged")
	build := exec.Command("go", "build", "-o", bin, "-ldflags",
		"-X main.version=1.4.0 -X main.commit=0123abcd -X main.buildDate=2026-12-03T10:00:00Z", ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	out, err := exec.Command(bin, "version", "-json").Output()
	if err != nil {
		t.Fatalf("version -json: %v", err)
	}
	var got buildInfo
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if got.Version != "1.4.0" || got.Commit != "0123abcd" || got.BuildDate != "2026-12-03T10:00:00Z" {
		t.Errorf("version -json = %+v", got)
	}
}

// TestVersionFromTheVCSStamp: without -ldflags the commit and its time
// come from the toolchain's stamp, marked -dirty for a modified tree, and
// the version from go install's module version.
func TestVersionFromTheVCSStamp(t *testing.T) {
	stamp := func(mainVersion string, settings ...string) *debug.BuildInfo {
		bi := &debug.BuildInfo{Main: debug.Module{Path: "bridged", Version: mainVersion}}
		for i := 0; i+1 < len(settings); i += 2 {
			bi.Settings = append(bi.Settings, debug.BuildSetting{Key: settings[i], Value: settings[i+1]})
		}
		return bi
	}
	tests := []struct {
		name                     string
		bi                       *debug.BuildInfo
		version, commit, builtAt string
	}{
		{name: "clean checkout", bi: stamp("(devel)", "vcs.revision", "abc", "vcs.time", "2026-12-01T09:00:00Z", "vcs.modified", "false"),
			version: "dev", commit: "abc", builtAt: "2026-12-01T09:00:00Z"},
		{name: "modified tree", bi: stamp("(devel)", "vcs.revision", "abc", "vcs.modified", "true"),
			version: "dev", commit: "abc-dirty", builtAt: "unknown"},
		{name: "go install of a tag", bi: stamp("v1.4.0"), version: "v1.4.0", commit: "unknown", builtAt: "unknown"},
		{name: "no stamp", bi: nil, version: "dev", commit: "unknown", builtAt: "unknown"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := describeBuild(tt.bi)
			if got.Version != tt.version || got.Commit != tt.commit || got.BuildDate != tt.builtAt {
				t.Errorf("%+v, want %s %s %s", got, tt.version, tt.commit, tt.builtAt)
			}
		})
	}
}
