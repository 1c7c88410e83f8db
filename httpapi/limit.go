package httpapi

import (
	"net"
	"sync"
	"sync/atomic"
)

// LimitListener returns a listener that has at most n of ln's connections
// open at once. Accept waits for one to close before it takes the next
// from ln, so that a connection over the limit waits in the kernel's
// listen queue (its client sees a slow connect or a slow first answer)
// instead of costing the daemon a goroutine and buffers. n must be
// positive.
//
// golang.org/x/net/netutil.LimitListener does the same; these few lines
// spare the daemon a new module.
func LimitListener(ln net.Listener, n int) net.Listener {
	if n <= 0 {
		panic("httpapi: LimitListener needs a positive limit")
	}
	return &limitListener{Listener: ln, slots: make(chan struct{}, n), closed: make(chan struct{})}
}

type limitListener struct {
	net.Listener
	slots     chan struct{} // one element per open connection
	closed    chan struct{} // closed by Close, to end a waiting Accept
	closeOnce sync.Once
	waiting   atomic.Int32 // Accepts waiting for a slot, for tests
}

func (l *limitListener) Accept() (net.Conn, error) {
	l.waiting.Add(1)
	select {
	case l.slots <- struct{}{}:
		l.waiting.Add(-1)
	case <-l.closed:
		l.waiting.Add(-1)
		return nil, net.ErrClosed
	}
	c, err := l.Listener.Accept()
	if err != nil {
		<-l.slots
		return nil, err
	}
	return &limitConn{Conn: c, release: func() { <-l.slots }}, nil
}

func (l *limitListener) Close() error {
	l.closeOnce.Do(func() { close(l.closed) })
	return l.Listener.Close()
}

// limitConn gives its slot back on the first Close; net/http may close a
// connection more than once.
type limitConn struct {
	net.Conn
	once    sync.Once
	release func()
}

func (c *limitConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.release)
	return err
}
