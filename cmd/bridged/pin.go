package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"time"

	"bridged/modem"
	"bridged/queue"
)

// pinJournal keeps the drivers' PIN attempts in the queue's database: the
// driver does not import queue, nor queue the driver. modem.PINRecord and
// queue.PINAttempt have the same fields, so a conversion maps one to the
// other, and a field added to only one of them stops the build here
// instead of being dropped on the way to the database.
type pinJournal struct{ s *queue.Store }

func (j pinJournal) LoadPIN(ctx context.Context, key string) (modem.PINRecord, bool, error) {
	a, found, err := j.s.PINAttempt(ctx, key)
	if err != nil || !found {
		return modem.PINRecord{}, found, err
	}
	return modem.PINRecord(a), true, nil
}

func (j pinJournal) SavePIN(ctx context.Context, r modem.PINRecord) error {
	return j.s.SavePINAttempt(ctx, queue.PINAttempt(r))
}

func (j pinJournal) DeletePIN(ctx context.Context, key string) error {
	return j.s.DeletePINAttempt(ctx, key)
}

func (j pinJournal) ClearPIN(ctx context.Context, id string) (int, error) {
	return j.s.ClearPIN(ctx, id)
}

// ClearPINRefusal serves DELETE /v1/modems/{id}/pin-refusal: the modem
// forgets the refusal and, if stopped by it, starts again.
func (l modemList) ClearPINRefusal(ctx context.Context, id string) (bool, int, error) {
	for _, m := range l {
		if m.ID() == id {
			n, err := m.ClearPINRefusal(ctx)
			return true, n, err
		}
	}
	return false, 0, nil
}

// clearPIN is "bridged modems clear-pin ID". A running daemon holds the
// database and its modems, so the CLI asks it over the API: the modem then
// tries again without a restart, and the CLI needs no lock on the store.
// Only when nothing listens does it write to the database itself.
func (c *modemsCommand) clearPIN(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("modems clear-pin", flag.ContinueOnError)
	path := fs.String("config", "", "")
	api := fs.String("api", "", "")
	rest, err := parseInterspersed(fs, c.Usage(), c.stdout, args)
	if err != nil {
		return err
	}
	if len(rest) != 1 {
		return usageErrorf("modems clear-pin: want one modem id (or ICCID), got %d arguments", len(rest))
	}
	id := rest[0]
	// Through the loader serve uses: without -config, the daemon's token
	// may come from BRIDGED_TOKENS alone.
	cfg, err := loadServeConfig(*path)
	if err != nil {
		return err
	}
	base := *api
	if base == "" {
		base = apiURL(cfg.HTTP.Listen)
	}
	if base != "" {
		done, err := clearPINByAPI(ctx, c.stdout, base, cfg.HTTP.Tokens, id)
		if done || err != nil {
			return err
		}
	}
	return clearPINInStore(ctx, c.stdout, cfg.Store.Path, id)
}

// clearPINByAPI asks a running daemon to clear; done is false when no
// daemon listens at base, so that the caller clears the database instead.
func clearPINByAPI(ctx context.Context, w io.Writer, base string, tokens []string, id string) (done bool, err error) {
	token := ""
	if len(tokens) > 0 {
		token = tokens[0]
	}
	c, err := newAPIClient(base, token)
	if err != nil {
		return true, fmt.Errorf("modems clear-pin: -api: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	var out struct {
		Cleared int `json:"cleared"`
	}
	err = c.callJSON(ctx, http.MethodDelete, "/v1/modems/"+url.PathEscape(id)+"/pin-refusal", nil, &out)
	if errors.Is(err, errNoDaemon) {
		return false, nil
	}
	if err != nil {
		return true, fmt.Errorf("modems clear-pin: %w", err)
	}
	if out.Cleared == 0 {
		fmt.Fprintf(w, "modem %s: no PIN refusal was recorded; it tries its PIN again if its SIM asks\n", id)
		return true, nil
	}
	fmt.Fprintf(w, "modem %s: PIN refusal cleared; the running daemon enters the configured PIN again now, once\n", id)
	return true, nil
}

// clearPINInStore clears in the database, with no daemon running.
func clearPINInStore(ctx context.Context, w io.Writer, path, id string) error {
	if _, err := os.Stat(path); err != nil {
		return fmt.Errorf("modems clear-pin: no daemon answers and the database cannot be read: %w", err)
	}
	store, err := queue.Open(path, queue.Options{})
	if err != nil {
		return fmt.Errorf("modems clear-pin: %w", err)
	}
	n, err := store.ClearPIN(ctx, id)
	if cerr := store.Close(); err == nil && cerr != nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("modems clear-pin: %w", err)
	}
	if n == 0 {
		fmt.Fprintf(w, "modem %s: no PIN refusal was recorded in %s\n", id, path)
		return nil
	}
	fmt.Fprintf(w, "modem %s: PIN refusal cleared in %s; the configured PIN is entered again, once, at the next start\n", id, path)
	return nil
}
