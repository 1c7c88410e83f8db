package queue

// Parked claims: an idle worker's claim that the writer runs in the
// transaction of the write that makes a message claimable, so that the
// message is already under the worker's lease when that write commits and
// the send needs no commit (no fsync) of its own before it starts.

import (
	"fmt"
	"slices"
	"sync"
)

// Park is a claim parked in the store by Store.Park. The writer runs it
// at most once: in the first commit after Park in which a write made a
// message claimable. Done is closed once the writer has run it and that
// commit has ended; Unpark takes it back and returns what it claimed, if
// anything.
type Park struct {
	s     *Store
	reqs  []ClaimRequest
	still func() bool
	done  chan struct{}
	// Written by the writer before it closes done.
	msgs    []*Message
	err     error
	changes []statusChange
}

// parking is the store's parked claims, in the order they were parked.
type parking struct {
	mu     sync.Mutex
	parked []*Park
	closed bool // the writer has stopped (closeParking)
}

// Park parks a claim: the first commit after it that makes a message
// claimable (the commits after which Subscribe's channels get a value)
// runs reqs in that commit's transaction, after its writes, one after
// the other until one claims something, as Claim would run them then. Each
// request is checked and defaulted as Claim does it. A claim that fails is
// rolled back alone: never the writes around it.
//
// The requests are what the claim rule decides from at the time of Park
// (Peers especially). still, when not nil, says whether they still hold:
// the writer calls it right before it would run them, and when it returns
// false answers the park with nothing, so that the caller claims afresh.
// It runs in the writer goroutine, inside the transaction: it must be
// quick and must not call the store.
//
// The caller waits on Done, or on anything else, and then calls Unpark,
// which it must call in every case: messages claimed for the park are
// under a lease that only Unpark hands over.
func (s *Store) Park(still func() bool, reqs ...ClaimRequest) (*Park, error) {
	reqs, err := checkClaims(reqs)
	if err != nil {
		return nil, fmt.Errorf("park: %w", err)
	}
	p := &Park{s: s, reqs: reqs, still: still, done: make(chan struct{})}
	s.parking.mu.Lock()
	defer s.parking.mu.Unlock()
	if s.parking.closed {
		return nil, fmt.Errorf("park: %w", ErrClosed)
	}
	s.parking.parked = append(s.parking.parked, p)
	return p, nil
}

// Done is closed once the writer has run the park's claim and its commit
// has ended, whether it claimed anything or not: Unpark then returns at
// once. A nil Park's is nil: a wait on it never ends.
func (p *Park) Done() <-chan struct{} {
	if p == nil {
		return nil
	}
	return p.done
}

// Unpark takes the park back. When the writer has already taken it, Unpark
// waits for the end of that commit (a commit's time) and returns what it
// claimed: messages under the caller's lease, as Claim returns them, which
// the caller sends or releases. The error is the claim's or its commit's;
// nothing is claimed then. A park the writer has not taken is removed and
// Unpark returns nothing. Calls after the first return the same. Park may
// be called inside a write (its fn), Unpark not: it would wait for the
// commit that runs it.
func (p *Park) Unpark() ([]*Message, error) {
	pk := &p.s.parking
	pk.mu.Lock()
	i := slices.Index(pk.parked, p)
	if i >= 0 {
		pk.parked = slices.Delete(pk.parked, i, i+1)
	}
	pk.mu.Unlock()
	if i >= 0 {
		p.answer(nil)
	}
	<-p.done
	return p.msgs, p.err
}

// answer ends the park. It is called once: by Unpark for a park the writer
// did not take, by the writer for one it took.
func (p *Park) answer(err error) {
	if err != nil {
		p.msgs, err = nil, fmt.Errorf("parked claim: %w", err)
	}
	p.err = err
	close(p.done)
}

// claimParked runs, in the writer's transaction after a batch's writes, the
// claims parked until now, each under its own savepoint. It takes them out
// of the store's list: the writer answers each (answerParked) once the
// transaction has ended. An error is the transaction's (a savepoint that
// could not be set or undone), which the caller then rolls back.
func (s *Store) claimParked(w *wtx) ([]*Park, error) {
	s.parking.mu.Lock()
	parked := s.parking.parked
	s.parking.parked = nil
	s.parking.mu.Unlock()
	for _, p := range parked {
		o := &op{fn: func(w *wtx) error {
			if p.still != nil && !p.still() {
				return nil
			}
			var err error
			p.msgs, err = w.claimFirstOf(p.reqs)
			return err
		}}
		var err error
		if p.err, err = w.savepoint("park", func() error { return run(o, w) }); err != nil {
			return parked, err
		}
		if p.err != nil {
			p.msgs = nil
		} else {
			p.changes = o.changes
		}
	}
	return parked, nil
}

// answerParked answers the parks claimParked took, once their transaction
// has ended with err: after a commit each gets what was claimed for it,
// and its status changes are logged after the batch's (commit order);
// after a failure, nothing.
func (s *Store) answerParked(parked []*Park, err error) {
	for _, p := range parked {
		e := p.err
		if err != nil {
			e = err
		}
		if e == nil {
			s.logCommitted(p.changes)
		}
		p.answer(e)
	}
}

// closeParking answers the parks still waiting when the writer has
// stopped, with ErrClosed, and refuses later ones: nothing is claimed for
// them any more.
func (s *Store) closeParking() {
	s.parking.mu.Lock()
	parked := s.parking.parked
	s.parking.parked, s.parking.closed = nil, true
	s.parking.mu.Unlock()
	for _, p := range parked {
		p.answer(ErrClosed)
	}
}
