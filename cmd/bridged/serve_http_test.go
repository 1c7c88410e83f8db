package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"bridged/config"
	"bridged/internal/ready"
	"bridged/internal/testutil"
)

// inProcess is serve running in the test process, for what the built-in
// default configuration does: the binary without -config would listen on
// the fixed 127.0.0.1:8080, which another process may hold.
type inProcess struct {
	addr string
	out  *testutil.Buffer
}

// mustServe runs serve on cfg, moved to 127.0.0.1:0 and a database in
// t.TempDir, until the test ends.
func mustServe(t *testing.T, cfg *config.Config) *inProcess {
	t.Helper()
	cfg.HTTP.Listen = "127.0.0.1:0"
	cfg.Store.Path = filepath.Join(t.TempDir(), "bridged.db")
	p := &inProcess{out: &testutil.Buffer{}}
	log := slog.New(slog.NewTextHandler(p.out, nil))
	readyFile := filepath.Join(t.TempDir(), "serve.ready")
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	done := make(chan struct{})
	go func() { defer close(done); errc <- serve(ctx, cfg, log, readyFile) }()
	t.Cleanup(func() {
		cancel()
		if err := <-errc; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	var doc ready.Serve
	testutil.MustAwaitReady(t, readyFile, done, &doc)
	p.addr = doc.Listen
	return p
}

func (p *inProcess) get(t *testing.T, path, token string) int {
	t.Helper()
	req, err := http.NewRequest("GET", "http://"+p.addr+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	return res.StatusCode
}

const noTokenWarning = `level=WARN msg="no API tokens are set: the API is open to anyone who can reach 127.0.0.1:`

// TestServeDefaultAppliesEnvironment: `serve` without -config used to run
// config.Default(configDriver()) as is, ignoring BRIDGED_TOKENS: the API was open.
func TestServeDefaultAppliesEnvironment(t *testing.T) {
	const token = "0123456789abcdef0123456789abcdef"
	t.Setenv(config.EnvTokens, token)
	t.Setenv(config.EnvCredentials, "")
	cfg, err := loadServeConfig("")
	if err != nil {
		t.Fatal(err)
	}
	p := mustServe(t, cfg)
	if code := p.get(t, "/v1/modems", ""); code != http.StatusUnauthorized {
		t.Errorf("without a token: %d, want 401", code)
	}
	if code := p.get(t, "/v1/modems", token); code != http.StatusOK {
		t.Errorf("with the token: %d, want 200", code)
	}
	if out := p.out.String(); strings.Contains(out, "no API tokens") || strings.Contains(out, token) {
		t.Errorf("with a token set, the log warns of none or shows it:\n%s", out)
	}

	// A variable that would empty the token list is an error, not an
	// open API.
	t.Setenv(config.EnvTokens, ",")
	if _, err := loadServeConfig(""); err == nil {
		t.Error(`BRIDGED_TOKENS="," was accepted`)
	}
}

func TestServeWarnsWithoutTokens(t *testing.T) {
	t.Setenv(config.EnvTokens, "")
	t.Setenv(config.EnvCredentials, "")
	cfg, err := loadServeConfig("")
	if err != nil {
		t.Fatal(err)
	}
	p := mustServe(t, cfg)
	out := p.out.String()
	if n := strings.Count(out, noTokenWarning); n != 1 {
		t.Errorf("%d warnings that the API is open, want 1:\n%s", n, out)
	}
	// Host is checked instead: a page that rebinds its name to 127.0.0.1
	// is refused.
	req, _ := http.NewRequest("GET", "http://"+p.addr+"/v1/inbox", nil)
	req.Host = "attacker.example"
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusForbidden {
		t.Errorf("Host attacker.example: %d, want 403", res.StatusCode)
	}
}

// TestServeReadHeaderTimeout: a client that sends its headers slowly is
// disconnected after read_header_timeout, well before read_timeout.
func TestServeReadHeaderTimeout(t *testing.T) {
	t.Setenv(config.EnvCredentials, "")
	cfg := config.Default(configDriver())
	cfg.HTTP.ReadHeaderTimeout = config.Duration(200 * time.Millisecond)
	cfg.HTTP.ReadTimeout = config.Duration(time.Minute)
	p := mustServe(t, cfg)
	c, err := net.Dial("tcp", p.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	// The request line and one header, then nothing: the headers never end.
	fmt.Fprintf(c, "GET /healthz HTTP/1.1\r\nHost: localhost\r\n")
	// Far below read_timeout: only the header timeout can close it by then.
	c.SetReadDeadline(time.Now().Add(20 * time.Second))
	_, err = io.ReadAll(c)
	if errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatal("the connection was still open 20s after the headers stalled")
	}
}
