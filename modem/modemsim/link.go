package modemsim

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/creack/pty"
	"golang.org/x/sys/unix"
)

// link is one plug-in of a modem: a pty whose slave side is published at
// the modem's path. Unplugging closes it; replugging opens a new one, with
// a new /dev/pts number behind the same symlink, as a USB modem gets a new
// ttyUSB device when it re-enumerates.
type link struct {
	master  *os.File
	ptsName string
	path    string
	done    chan struct{}

	qmu  sync.Mutex
	q    []byte        // output not yet written; guarded by qmu
	wake chan struct{} // capacity 1: output is waiting
}

// openLink creates a pty and publishes its slave at path.
func openLink(path string) (*link, error) {
	master, tty, err := pty.Open()
	if err != nil {
		return nil, fmt.Errorf("open pty: %w", err)
	}
	name := tty.Name()
	// pty.Open calls Fd on the master, which puts it in blocking mode; a
	// read blocked in the kernel would then keep Close from closing it, so
	// an unplug would never reach the client. Non-blocking, it goes through
	// the runtime poller and Close interrupts it.
	if err := setNonblock(master); err != nil {
		master.Close()
		tty.Close()
		return nil, fmt.Errorf("pty %s: %w", name, err)
	}
	// Raw mode before any client opens the port: in the default cooked
	// mode the line discipline would echo what the simulator writes back
	// into its own input and turn \r into \n.
	err = makeRaw(tty)
	// The simulator must not hold the slave open: the master reads EIO
	// exactly while no client has the port open, which is how a hang ends
	// and how output for a closed port is dropped.
	if cerr := tty.Close(); err == nil && cerr != nil {
		err = cerr
	}
	if err != nil {
		master.Close()
		return nil, fmt.Errorf("pty %s: %w", name, err)
	}
	if err := publish(name, path); err != nil {
		master.Close()
		return nil, err
	}
	return &link{master: master, ptsName: name, path: path, done: make(chan struct{}), wake: make(chan struct{}, 1)}, nil
}

func setNonblock(f *os.File) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return fmt.Errorf("set non-blocking: %w", err)
	}
	var serr error
	if err := rc.Control(func(fd uintptr) { serr = unix.SetNonblock(int(fd), true) }); err != nil {
		return fmt.Errorf("set non-blocking: %w", err)
	}
	if serr != nil {
		return fmt.Errorf("set non-blocking: %w", serr)
	}
	return nil
}

func makeRaw(tty *os.File) error {
	fd := int(tty.Fd())
	t, err := unix.IoctlGetTermios(fd, unix.TCGETS)
	if err != nil {
		return fmt.Errorf("get termios: %w", err)
	}
	t.Iflag &^= unix.IGNBRK | unix.BRKINT | unix.PARMRK | unix.ISTRIP | unix.INLCR | unix.IGNCR | unix.ICRNL | unix.IXON
	t.Oflag &^= unix.OPOST
	t.Lflag &^= unix.ECHO | unix.ECHONL | unix.ICANON | unix.ISIG | unix.IEXTEN
	t.Cflag &^= unix.CSIZE | unix.PARENB
	t.Cflag |= unix.CS8
	t.Cc[unix.VMIN], t.Cc[unix.VTIME] = 1, 0
	if err := unix.IoctlSetTermios(fd, unix.TCSETS, t); err != nil {
		return fmt.Errorf("set termios: %w", err)
	}
	return nil
}

// publish points the symlink path at target, replacing an old symlink
// atomically so that a client never finds the path missing half-way.
func publish(target, path string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("publish %s: %w", path, err)
	}
	if fi, err := os.Lstat(path); err == nil && fi.Mode()&os.ModeSymlink == 0 {
		return fmt.Errorf("publish %s: exists and is not a symlink", path)
	}
	tmp := filepath.Join(filepath.Dir(path), "."+filepath.Base(path)+".tmp")
	_ = os.Remove(tmp)
	if err := os.Symlink(target, tmp); err != nil {
		return fmt.Errorf("publish %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("publish %s: %w", path, err)
	}
	return nil
}

// close unplugs: the client's next read fails, and the path disappears.
func (l *link) close() {
	close(l.done)
	l.master.Close()
	// Remove the symlink only if it is still ours: a replug may already
	// have published a new one.
	if target, err := os.Readlink(l.path); err == nil && target == l.ptsName {
		_ = os.Remove(l.path)
	}
}

// write queues b for the writer goroutine, so that a client that does not
// read never blocks the modem's state machine or the network.
func (l *link) write(b []byte) {
	l.qmu.Lock()
	l.q = append(l.q, b...)
	l.qmu.Unlock()
	select {
	case l.wake <- struct{}{}:
	default:
	}
}

// slaveOpen reports whether a client has the port open: the master polls
// POLLHUP while nobody does.
func (l *link) slaveOpen() bool {
	rc, err := l.master.SyscallConn()
	if err != nil {
		return false
	}
	open := false
	_ = rc.Control(func(fd uintptr) {
		fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLOUT}}
		n, err := unix.Poll(fds, 0)
		open = err == nil && (n == 0 || fds[0].Revents&unix.POLLHUP == 0)
	})
	return open
}

// writer owns writes to the master. Output for a closed port is dropped, as
// a USB modem's output is lost when no program holds the tty.
func (l *link) writer() {
	for {
		select {
		case <-l.done:
			return
		case <-l.wake:
		}
		l.qmu.Lock()
		b := l.q
		l.q = nil
		l.qmu.Unlock()
		for len(b) > 0 {
			if !l.slaveOpen() {
				break
			}
			// A deadline so that a client that stopped reading, or closed
			// the port while the buffer was full, cannot block this forever.
			_ = l.master.SetWriteDeadline(time.Now().Add(time.Second))
			n, err := l.master.Write(b)
			b = b[n:]
			if err != nil && !errors.Is(err, os.ErrDeadlineExceeded) {
				break
			}
			select {
			case <-l.done:
				return
			default:
			}
		}
	}
}
