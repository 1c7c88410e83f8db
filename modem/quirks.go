package modem

import "strings"

// quirks is what differs between modem families. Everything a family
// needs that others do not lives in this table rather than in conditions
// spread through the driver.
type quirks struct {
	// cnmi lists AT+CNMI settings to try in order (TS 27.005 3.4.1):
	// <mode>,<mt>,<bm>,<ds>,<bfr>. mt=1 stores each message and indicates
	// it with +CMTI, and ds=2 does the same for status reports (+CDSI), so
	// that nothing is lost while bridged is down or restarting: what is
	// stored is swept at the next start. A report routed directly (ds=1)
	// while nobody reads the port is gone. Modems that refuse ds=2 or
	// mode 2 get the later entries.
	cnmi []string
	// extraRegistration lists registration URCs to enable besides +CREG:
	// LTE modems may register for SMS on EPS only (+CEREG).
	extraRegistration []string
	// iccid lists the commands that may print the SIM's ICCID, tried in
	// order; most modems answer them before the PIN is entered. None is in
	// TS 27.007: +CCID and +ICCID are the common spellings.
	iccid []string
	// pinCounters lists the ways to read how many PIN attempts the SIM has
	// left, tried in order (see pin.go).
	pinCounters []pinCounter
}

var quirksTable = map[string]quirks{
	"generic": {
		cnmi:              []string{"2,1,0,2,0", "2,1,0,1,0", "1,1,0,2,0", "1,1,0,1,0", "2,1,0,0,0"},
		extraRegistration: []string{"+CGREG"},
		iccid:             []string{"+CCID", "+ICCID"},
		pinCounters:       []pinCounter{counterCPINR},
	},
	// SIMCom SIM800 (2G only): no +CEREG.
	"simcom": {
		cnmi:              []string{"2,1,0,2,0", "2,1,0,1,0", "2,1,0,0,0"},
		extraRegistration: []string{"+CGREG"},
		// SIM800 prints the bare number to AT+CCID; SIM7600 answers
		// AT+CICCID with "+ICCID: ...".
		iccid:       []string{"+CCID", "+CICCID"},
		pinCounters: []pinCounter{counterCPINR},
	},
	// Quectel EC25/EG25 and SIMCom SIM7600 are LTE modems.
	"quectel": {
		cnmi:              []string{"2,1,0,2,0", "2,1,0,1,0", "1,1,0,1,0"},
		extraRegistration: []string{"+CGREG", "+CEREG"},
		iccid:             []string{"+QCCID", "+CCID"},
		pinCounters:       []pinCounter{counterQuectel, counterCPINR},
	},
	// Huawei E3372/E173 refuse mode 2 in some firmware.
	"huawei": {
		cnmi:              []string{"2,1,0,2,0", "2,1,0,1,0", "1,1,0,2,0", "1,1,0,1,0"},
		extraRegistration: []string{"+CGREG"},
		iccid:             []string{"^ICCID?", "+CCID"},
		pinCounters:       []pinCounter{counterHuawei, counterCPINR},
	},
}

// QuirksNames lists the profiles a configuration may name.
func QuirksNames() []string {
	return []string{"generic", "huawei", "quectel", "simcom"}
}

func lookupQuirks(name string) quirks {
	if q, ok := quirksTable[strings.ToLower(name)]; ok {
		return q
	}
	return quirksTable["generic"]
}

// noisePrefixes are lines modems print unasked that are neither answers nor
// indications bridged acts on: boot banners (SIMCom RDY, Call Ready, SMS
// Ready), Huawei's ^RSSI, ^MODE, ^BOOT, ^SRVST, Quectel's +QIND. They may
// come at any time, even inside a response, and are skipped where answers
// are read.
var noisePrefixes = []string{"RDY", "Call Ready", "SMS Ready", "^RSSI", "^MODE", "^BOOT", "^SRVST", "^SIMST", "+QIND", "+CPIN: READY", "+CFUN:"}

func isNoise(line string) bool {
	for _, p := range noisePrefixes {
		if strings.HasPrefix(line, p) {
			return true
		}
	}
	return false
}
