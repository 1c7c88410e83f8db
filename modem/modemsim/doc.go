// Package modemsim simulates GSM modems on pseudo-terminals, joined by a
// virtual network, so that AT software can be tested without hardware.
//
// Each Modem publishes the slave side of its pty at a stable symlink (for
// example /tmp/bridged-sim0) that any serial library can open like
// /dev/ttyUSB0. It answers the AT commands of 3GPP TS 27.007 and TS 27.005
// that SMS software uses, in PDU mode only, and its faults (errors on send,
// a hang, an unplug, garbage, URC floods, no network, a PIN, a full SIM) are
// switched on from Go or from "bridged sim".
package modemsim
