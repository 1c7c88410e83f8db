package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"bridged/internal/testutil"
	"bridged/modem/modemsim"
)

// TestE2ESecondDaemonRefused: a second bridged serve on the store of a
// running one exits 1 at once, naming the first one's pid, and touches
// nothing: the first keeps sending, and no message goes out twice.
func TestE2ESecondDaemonRefused(t *testing.T) {
	w := mustWorld(t, 1, modemsim.Options{})
	cfg := w.config("")
	d := startDaemon(t, cfg)
	queued := d.send(map[string]any{"to": "+447400123456", "text": "owned by the first daemon"})[0]
	d.waitStatus(queued.ID, "sent", "delivered")

	path := filepath.Join(t.TempDir(), "second.toml")
	// The same store and modem, another port.
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	readyFile := filepath.Join(t.TempDir(), "second.ready")
	cmd := exec.Command(mustBinary(t), "serve", "-config", path, "-ready-file", readyFile)
	out := &testutil.Buffer{}
	cmd.Stdout, cmd.Stderr = out, out
	second := testutil.MustStart(t, cmd)
	timer := time.NewTimer(20 * time.Second)
	defer timer.Stop()
	select {
	case <-second.Exited():
	case <-timer.C:
		second.Kill() // by its pid
		t.Fatal("the second daemon did not exit within 20s")
	}
	text := out.String()
	want := fmt.Sprintf("is in use by another bridged (pid %d", d.proc.PID())
	if code := second.ExitCode(); code != 1 || !strings.Contains(text, want) || !strings.Contains(text, "stop it first") {
		t.Fatalf("second daemon: exit %d, output:\n%s\nwant exit 1 and %q", code, text, want)
	}
	if _, err := os.Stat(readyFile); strings.Contains(text, "bridged is up") || !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the second daemon came up (ready file: %v):\n%s", err, text)
	}

	// The first daemon still owns its store and modem.
	after := d.send(map[string]any{"to": "+447400123457", "text": "after the refused start"})[0]
	d.waitStatus(after.ID, "sent", "delivered")
	seen := map[string]int{}
	for _, s := range w.net.Sent() {
		seen[s.Message.Text]++
	}
	for text, n := range seen {
		if n != 1 {
			t.Errorf("%q sent %d times", text, n)
		}
	}
	if code := d.stop(); code != 0 {
		t.Fatalf("first daemon exit %d", code)
	}
	// Stopped, it no longer holds the store: a new daemon starts on it.
	d2 := startDaemon(t, cfg)
	d2.waitStatus(after.ID, "sent", "delivered")
}

// storeFault makes the file system under a running daemon's store refuse
// writes for real, and undoes it.
type storeFault struct {
	name string
	// code and words are what a refused POST and /healthz must say.
	code, words string
	inject      func(t *testing.T, d *daemon)
	repair      func(t *testing.T)
}

// mountSmallDisk mounts a small file system for the store, unmounted when
// the test ends (after the daemon, whose cleanup is registered later): an
// 8 MiB ext4 image on a loop device, which enforces the immutable flag on
// open files, else a 4 MiB tmpfs, which does not. It returns the directory
// and the kind, "" where mounting is not allowed (not root, no loop device).
func mountSmallDisk(t *testing.T) (dir, kind string) {
	dir = filepath.Join(t.TempDir(), "mnt")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	img := filepath.Join(t.TempDir(), "disk.img")
	ext4 := func() error {
		if err := os.WriteFile(img, nil, 0o600); err != nil {
			return err
		}
		if err := os.Truncate(img, 8<<20); err != nil {
			return err
		}
		// -m 0: no blocks reserved for root, which the daemon runs as here.
		for _, args := range [][]string{{"mkfs.ext4", "-q", "-F", "-m", "0", img}, {"mount", "-o", "loop", img, dir}} {
			if out, err := exec.Command(args[0], args[1:]...).CombinedOutput(); err != nil {
				return fmt.Errorf("%s: %v: %s", args[0], err, out)
			}
		}
		return nil
	}
	err := ext4()
	kind = "ext4"
	if err != nil {
		t.Logf("cannot mount an ext4 image (%v): trying a tmpfs", err)
		if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, "size=4m"); err != nil {
			t.Logf("cannot mount a tmpfs (%v): falling back to an injected failure", err)
			return "", ""
		}
		kind = "tmpfs"
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v: %s", dir, err, out)
		}
	})
	return dir, kind
}

// fillDisk writes a file until the file system is full.
func fillDisk(t *testing.T, dir string) string {
	t.Helper()
	path := filepath.Join(dir, "filler")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	buf := make([]byte, 4096)
	for {
		if _, err := f.Write(buf); err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatalf("fill the disk: %v", err)
			}
			return path
		}
	}
}

// chattr sets or clears the immutable flag: a file that no process, root
// included, may write, even through a descriptor opened before.
func chattr(flag string, paths ...string) error {
	out, err := exec.Command("chattr", append([]string{flag}, paths...)...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("chattr %s: %v: %s", flag, err, out)
	}
	return nil
}

// fileSizeLimit is the injected failure where the file system cannot be
// made to fail: RLIMIT_FSIZE of the daemon's process just past its WAL,
// so that its next commit fails with EFBIG.
func fileSizeLimit(store string) storeFault {
	var pid int
	return storeFault{
		name: "file size limit (injected)", code: "store_unavailable", words: "file too large",
		inject: func(t *testing.T, d *daemon) {
			pid = d.proc.PID()
			fi, err := os.Stat(store + "-wal")
			if err != nil {
				t.Fatal(err)
			}
			lim := unix.Rlimit{Cur: uint64(fi.Size()) + 100, Max: unix.RLIM_INFINITY}
			if err := unix.Prlimit(pid, unix.RLIMIT_FSIZE, &lim, nil); err != nil {
				t.Fatal(err)
			}
		},
		repair: func(t *testing.T) {
			lim := unix.Rlimit{Cur: unix.RLIM_INFINITY, Max: unix.RLIM_INFINITY}
			if err := unix.Prlimit(pid, unix.RLIMIT_FSIZE, &lim, nil); err != nil {
				t.Fatal(err)
			}
		},
	}
}

// TestE2EStoreFullAndReadOnly: the disk under a running daemon fills up,
// then its database becomes read-only. Each time a POST is refused with
// 503 and the reason, /healthz says 503, every message accepted before is
// still there, and once the disk takes writes again the same process (no
// restart) answers 200, takes messages and sends every accepted one once.
//
// The disk is a real 8 MiB ext4 image on a loop device, filled with a
// file; read-only is the immutable flag on the database and its WAL
// (chattr +i), which makes the kernel refuse writes even to files already
// open. Where no loop device can be mounted, a tmpfs serves for the full
// disk and read-only falls back to an injected failure (a file size limit
// on the daemon's process); without any mount, both do. The test logs
// which ran.
func TestE2EStoreFullAndReadOnly(t *testing.T) {
	w := mustWorld(t, 1, modemsim.Options{})
	dir, kind := mountSmallDisk(t)
	if kind == "" {
		dir = t.TempDir()
	}
	store := filepath.Join(dir, "bridged.db")
	cfg := strings.Replace(w.config(""), filepath.Join(w.dir, "bridged.db"), store, 1)
	var faults []storeFault
	if kind != "" {
		var filler string
		faults = append(faults, storeFault{
			name: "full " + kind, code: "store_full", words: "disk holding the message database is full",
			inject: func(t *testing.T, d *daemon) { filler = fillDisk(t, dir) },
			repair: func(t *testing.T) {
				if err := os.Remove(filler); err != nil {
					t.Fatal(err)
				}
			},
		})
	} else {
		faults = append(faults, fileSizeLimit(store))
	}
	if kind == "ext4" {
		faults = append(faults, storeFault{
			name: "immutable database on ext4", code: "store_read_only", words: "read-only",
			inject: func(t *testing.T, d *daemon) {
				if err := chattr("+i", store, store+"-wal"); err != nil {
					t.Fatal(err)
				}
			},
			repair: func(t *testing.T) {
				if err := chattr("-i", store, store+"-wal"); err != nil {
					t.Fatal(err)
				}
			},
		})
	} else {
		faults = append(faults, fileSizeLimit(store))
	}
	d := startDaemon(t, cfg)
	if kind == "ext4" {
		t.Cleanup(func() { chattr("-i", store, store+"-wal") }) // before the unmount
	}
	pid := d.proc.PID()
	var accepted []int64
	for i, f := range faults {
		t.Logf("fault %d: %s", i, f.name)
		// Keep what is accepted queued until the end, so that it is there
		// to lose while the disk refuses writes.
		w.sims[0].SetRegistration(modemsim.RegSearching)
		waitModemRegistration(t, d, "searching")
		for j := range 3 {
			accepted = append(accepted, d.send(map[string]any{"to": "+447400123456", "text": fmt.Sprintf("fault %d, before %d", i, j)})[0].ID)
		}
		f.inject(t, d)
		var e apiError
		if code := d.do("POST", "/v1/messages", map[string]any{"to": "+447400123456", "text": "refused"}, &e); code != 503 ||
			e.Error.Code != f.code || !strings.Contains(e.Error.Message, f.words) {
			t.Fatalf("%s: POST answered %d %+v, want 503 %s", f.name, code, e.Error, f.code)
		}
		e = apiError{}
		if code := d.do("GET", "/healthz", nil, &e); code != 503 || e.Error.Code != f.code {
			t.Fatalf("%s: /healthz %d %+v, want 503 %s", f.name, code, e.Error, f.code)
		}
		for _, id := range accepted {
			var m apiMessage
			if code := d.do("GET", fmt.Sprintf("/v1/messages/%d", id), nil, &m); code != 200 || m.Status != "queued" && m.Status != "sent" && m.Status != "delivered" {
				t.Fatalf("%s: accepted message %d: %d %+v", f.name, id, code, m)
			}
		}
		f.repair(t)
		waitHealthz(t, d)
		accepted = append(accepted, d.send(map[string]any{"to": "+447400123456", "text": fmt.Sprintf("fault %d, after", i)})[0].ID)
		w.sims[0].SetRegistration(modemsim.RegHome)
		for _, id := range accepted {
			d.waitStatus(id, "sent", "delivered")
		}
	}
	seen := map[string]int{}
	for _, s := range w.net.Sent() {
		seen[s.Message.Text]++
	}
	if len(seen) != len(accepted) {
		t.Errorf("%d texts sent, want the %d accepted: %v", len(seen), len(accepted), seen)
	}
	for text, n := range seen {
		if n != 1 || text == "refused" {
			t.Errorf("%q sent %d times", text, n)
		}
	}
	select {
	case <-d.exited():
		t.Fatalf("the daemon exited: %v", d.proc.Err())
	default:
	}
	if d.proc.PID() != pid {
		t.Fatal("the daemon was restarted")
	}
}

// waitModemRegistration polls GET /v1/modems until the first modem's registration is want.
func waitModemRegistration(t *testing.T, d *daemon, want string) {
	t.Helper()
	var modems []apiModem
	if !testutil.UntilEvery(20*time.Second, 10*time.Millisecond, func() bool {
		modems = d.modems()
		return len(modems) > 0 && modems[0].Registration == want && modems[0].State != "ready"
	}) {
		t.Fatalf("modem %+v, want registration %q", modems, want)
	}
}

// waitHealthz polls /healthz until it answers 200.
func waitHealthz(t *testing.T, d *daemon) {
	t.Helper()
	if !testutil.UntilEvery(10*time.Second, 10*time.Millisecond, func() bool { return d.do("GET", "/healthz", nil, nil) == 200 }) {
		t.Fatal("/healthz did not recover within 10s of the disk taking writes again")
	}
}
