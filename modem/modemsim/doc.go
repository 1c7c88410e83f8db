// Package modemsim simulates GSM modems on pseudo-terminals, joined by a
// virtual network, so that AT software can be tested without hardware.
//
// Each Modem publishes the slave side of its pty at a stable symlink (for
// example /tmp/bridged-sim0) that any serial library can open like
// /dev/ttyUSB0. It answers the AT commands of 3GPP TS 27.007 and TS 27.005
// that SMS software uses, in PDU mode only, and its faults (errors on send,
// a hang, an unplug, garbage, URC floods, no network, a PIN, a full SIM) are
// switched on from Go or from "bridged sim".
//
// ControlServer offers the same switches to another process over a line
// protocol (one command a line, answered by data lines and "ok" or
// "error: ..."), on a loopback or UNIX socket from ListenControl;
// ControlClient sends them. "bridged sim" and its "ctl" subcommand are
// that server and client behind flags.
//
// The PDUs the network sends (SMS-DELIVER, SMS-STATUS-REPORT) are built by
// the package smsc beside this one; tests that feed a driver such PDUs use
// it directly.
//
// Where the specifications leave a choice, or modems differ, the simulator
// does this:
//
//   - Text mode is refused (AT+CMGF=1 gives +CMS ERROR: 303).
//   - Unknown commands and syntax errors give a bare ERROR. With AT+CMEE=0
//     every failure is ERROR; with 1 or 2 +CME ERROR is numeric or verbose,
//     and +CMS ERROR is always numeric.
//   - URCs never split a response: they wait for the final result code,
//     including those a command causes (+CREG after +CFUN, +CMTI after a
//     send to oneself, +CUSD after OK). +CNMI mode 0 buffers SMS
//     indications until +CNMI mode 1 or 2; mode 1 then behaves as mode 2.
//   - Power-up: echo on, +CMEE 0, +CNMI 2,1,0,0,0 (new SMS stored and
//     indicated with +CMTI, status reports stored silently), memories
//     "SM","SM","SM" with 30 and 100 slots for SM and ME.
//   - A memory that is full does not lose messages: the network holds them
//     (Modem.Pending) and delivers them once the client deletes one, as a
//     service centre retries. The same happens while the modem is
//     unplugged, has no network, or waits for its PIN.
//   - AT+CMGS checks that the declared length equals the TPDU octets after
//     the SMSC field, and that the PDU is an SMS-SUBMIT; anything else is
//     +CMS ERROR: 304. ESC cancels with OK. The modem writes its own TP-MR,
//     counting 0-255 and wrapping. The network has the message before the
//     client reads "+CMGS: <mr>".
//   - Under AT+CSMS=1 a +CMT or +CDS is delivered only when the client
//     answers +CNMA (the sender's status report waits for it). Without one
//     within Options.AckTimeout the modem sets <mt> and <ds> to 0, as
//     TS 27.005 3.4.1 says, and the network delivers the message again,
//     into storage. +CNMA=2 (a negative acknowledgement) is not offered.
//   - AT+CMGW stores a PDU in mem2 (default <stat> 2, "STO UNSENT") after the
//     same checks; AT+CMSS sends a stored SMS-SUBMIT and marks it sent. A
//     <da> for +CMSS is refused: it belongs to text mode.
//   - AT+CMGR of an empty slot is +CMS ERROR: 321; AT+CMGD of an empty slot
//     is OK; an index outside the memory is 321 for both.
//   - Closing the port acts as the DTR drop of a real serial line with
//     AT&D2: a pending "> " prompt is abandoned, a half-typed line is lost,
//     and a hang ends. Output while no client has the port open is lost.
//     The modem learns of a close when its pending read fails; a close and
//     reopen faster than its reader runs again (normally well under a
//     millisecond) can go unseen, and then a hang goes on: Modem.Hung tells.
//   - Numbers match by digits, so "12015550102" reaches "+12015550102".
//     The SMSC a client puts in a PDU is ignored; deliveries carry the
//     network's (Options.SMSC).
//   - Status reports say TP-ST 0x00 (delivered) or 0x41 (failed,
//     incompatible destination), one per part, after Options.ReportDelay.
//   - The echo phone (EchoNumber) joins multipart messages and answers
//     "Echo: <text>" after Options.EchoDelay.
package modemsim
