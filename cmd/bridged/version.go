package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"runtime"
	"runtime/debug"

	"github.com/mattn/go-sqlite3"
)

// Set at build time, for a release:
//
//	go build -ldflags "-X main.version=1.4.0 -X main.commit=$(git rev-parse HEAD) -X main.buildDate=$(date -u +%FT%TZ)" ./cmd/bridged
//
// Without them, commit and buildDate come from the Go toolchain's VCS
// stamp (debug.ReadBuildInfo) when the build had one.
var (
	version   = "dev"
	commit    = ""
	buildDate = ""
)

// versionCommand is "bridged version".
type versionCommand struct {
	stdout io.Writer
}

func (c *versionCommand) Usage() string {
	return `Usage:
  bridged version [-json]

Prints bridged's version, the commit and date it was built from, the Go
version it was built with and the SQLite library it carries.

Flags:
  -json   print it as one JSON object, for scripts
`
}

// buildInfo is what "bridged version" prints.
type buildInfo struct {
	Version   string `json:"version"`
	Commit    string `json:"commit"`     // "unknown" when the build recorded none
	BuildDate string `json:"build_date"` // RFC 3339, or "unknown"
	Go        string `json:"go"`
	Platform  string `json:"platform"` // GOOS/GOARCH
	SQLite    string `json:"sqlite"`
}

func (c *versionCommand) Run(_ context.Context, args []string) error {
	fs := flag.NewFlagSet("version", flag.ContinueOnError)
	asJSON := fs.Bool("json", false, "")
	if err := parseFlags(fs, c.Usage(), c.stdout, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageErrorf("version: unexpected argument %q", fs.Arg(0))
	}
	info := currentBuild()
	if *asJSON {
		enc := json.NewEncoder(c.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(info)
	}
	_, err := fmt.Fprintf(c.stdout, "bridged %s\ncommit:     %s\nbuilt:      %s\ngo:         %s %s\nsqlite:     %s\n",
		info.Version, info.Commit, info.BuildDate, info.Go, info.Platform, info.SQLite)
	return err
}

// currentBuild describes this binary: -ldflags values first, then the
// toolchain's stamp.
func currentBuild() buildInfo {
	bi, _ := debug.ReadBuildInfo()
	return describeBuild(bi)
}

// describeBuild is currentBuild with the toolchain's stamp given (nil: none).
// A checkout's VCS stamp (vcs.revision, vcs.time) is recorded by go build
// in a git clone, not in a git worktree nor with -buildvcs=false.
func describeBuild(bi *debug.BuildInfo) buildInfo {
	sqliteVersion, _, _ := sqlite3.Version()
	b := buildInfo{Version: version, Commit: commit, BuildDate: buildDate, Go: runtime.Version(),
		Platform: runtime.GOOS + "/" + runtime.GOARCH, SQLite: sqliteVersion}
	if bi != nil {
		if b.Version == "dev" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			b.Version = bi.Main.Version // go install bridged@v1.4.0
		}
		var modified bool
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				if b.Commit == "" {
					b.Commit = s.Value
				}
			case "vcs.time":
				if b.BuildDate == "" {
					b.BuildDate = s.Value
				}
			case "vcs.modified":
				modified = s.Value == "true"
			}
		}
		if modified && commit == "" && b.Commit != "" {
			b.Commit += "-dirty" // built from a tree with uncommitted changes
		}
	}
	if b.Commit == "" {
		b.Commit = "unknown"
	}
	if b.BuildDate == "" {
		b.BuildDate = "unknown"
	}
	return b
}
