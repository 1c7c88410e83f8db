package modemsim

import (
	"fmt"
)

// Registration is a network registration status as +CREG and +CGREG print
// it (TS 27.007 7.2, <stat>).
type Registration int

// The registration states a test can put a modem in.
const (
	RegNotRegistered Registration = 0 // not registered, not searching
	RegHome          Registration = 1
	RegSearching     Registration = 2
	RegDenied        Registration = 3
	RegRoaming       Registration = 5
)

// registrationNames are the names ParseRegistration takes.
var registrationNames = map[string]Registration{
	"": RegHome, "home": RegHome, "roaming": RegRoaming, "searching": RegSearching,
	"denied": RegDenied, "none": RegNotRegistered, "not-registered": RegNotRegistered,
}

// ParseRegistration maps "home", "roaming", "searching", "denied" and
// "none" to a Registration.
func ParseRegistration(s string) (Registration, error) {
	return parseName(registrationNames, s, "registration", "home, roaming, searching, denied or none")
}

// registrationLocked is the <stat> +CREG reports: nothing without radio
// (+CFUN 0 or 4) or an unlocked SIM.
func (m *Modem) registrationLocked() Registration {
	if m.fun != 1 || !m.pinOK {
		return RegNotRegistered
	}
	return m.reg
}

func (m *Modem) registeredLocked() bool {
	r := m.registrationLocked()
	return r == RegHome || r == RegRoaming
}

// Fake cell identity for +CREG=2 (TS 27.007 7.2 <lac>, <ci>).
const lac, cellID = "1A2B", "00C3D4E5"

// regChangedLocked sends +CREG and +CGREG URCs if the status changed, and
// hands over held messages once the modem is reachable again.
func (m *Modem) regChangedLocked() {
	r := m.registrationLocked()
	if r != m.lastReg {
		m.lastReg = r
		for _, u := range []struct {
			name string
			n    int
		}{{"+CREG", m.set.creg}, {"+CGREG", m.set.cgreg}} {
			if u.n != 0 {
				m.urcLocked(regLine(u.name, u.n, r, false))
			}
		}
	}
	m.flushPendingLocked()
}

// regLine is what +CREG and +CGREG print (TS 27.007 7.2): the URC form is
// "<stat>[,<lac>,<ci>]", the read form "<n>,<stat>[,<lac>,<ci>]"; the
// location comes only with <n> 2 and while registered.
func regLine(name string, n int, r Registration, read bool) string {
	s := name + ": "
	if read {
		s += fmt.Sprintf("%d,", n)
	}
	s += fmt.Sprint(int(r))
	if n == 2 && (r == RegHome || r == RegRoaming) {
		s += fmt.Sprintf(",%q,%q", lac, cellID)
	}
	return s
}
