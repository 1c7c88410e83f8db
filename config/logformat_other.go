//go:build !unix

package config

import "os"

// fileID: systemd's journal exists only on Unix.
func fileID(*os.File) (string, bool) { return "", false }
