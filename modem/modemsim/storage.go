package modemsim

// Message status in storage, as +CMGL and +CMGR print it in PDU mode
// (TS 27.005 3.1, <stat>).
const (
	StatUnread = 0 // "REC UNREAD"
	StatRead   = 1 // "REC READ"
	StatUnsent = 2 // "STO UNSENT"
	StatSent   = 3 // "STO SENT"
)

// Default capacities: a typical SIM holds a few tens of SMS, a modem's own
// memory a few hundred.
const (
	DefaultSMCapacity = 30
	DefaultMECapacity = 100
)

// Stored is one message slot of a storage, as +CMGR would show it.
type Stored struct {
	Index  int
	Stat   int
	PDU    string // hex with the SMSC prefix
	Length int    // TPDU octets, without the SMSC prefix
}

// storage is one message memory ("SM" or "ME") with 1-based indexes.
// The modem's mu guards it. Lowering the capacity below what is stored
// keeps every message at its index (a driver may hold those indexes) and
// makes the memory read as full until enough are deleted.
type storage struct {
	name     string
	capacity int
	slots    []*Stored // slots[i] is index i+1; nil is free
	changed  func()    // called after every change, under the modem's mu
}

func newStorage(name string, capacity int, changed func()) *storage {
	return &storage{name: name, capacity: capacity, changed: changed}
}

func (s *storage) used() int {
	n := 0
	for _, m := range s.slots {
		if m != nil {
			n++
		}
	}
	return n
}

func (s *storage) full() bool { return s.used() >= s.capacity }

// size is the highest valid index.
func (s *storage) size() int { return max(s.capacity, len(s.slots)) }

// put stores a message in the lowest free slot and returns its index, or 0
// when the storage is full.
func (s *storage) put(stat int, pduHex string, length int) int {
	if s.full() {
		return 0
	}
	for i := range s.capacity {
		if i == len(s.slots) {
			s.slots = append(s.slots, nil)
		}
		if s.slots[i] == nil {
			s.slots[i] = &Stored{Index: i + 1, Stat: stat, PDU: pduHex, Length: length}
			s.changed()
			return i + 1
		}
	}
	return 0
}

// get returns the message at index, nil for an empty slot; ok is false for
// an index outside the storage.
func (s *storage) get(index int) (m *Stored, ok bool) {
	if index < 1 || index > s.size() {
		return nil, false
	}
	if index > len(s.slots) {
		return nil, true
	}
	return s.slots[index-1], true
}

func (s *storage) remove(index int) {
	if index >= 1 && index <= len(s.slots) && s.slots[index-1] != nil {
		s.slots[index-1] = nil
		s.changed()
	}
}

// setStat changes a message's <stat>, as reading or sending it does.
func (s *storage) setStat(m *Stored, stat int) {
	if m.Stat != stat {
		m.Stat = stat
		s.changed()
	}
}

func (s *storage) snapshot() []Stored {
	var out []Stored
	for _, m := range s.slots {
		if m != nil {
			out = append(out, *m)
		}
	}
	return out
}
