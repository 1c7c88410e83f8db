// Package modem drives one GSM modem over a serial port with AT commands:
// it sends SMS-SUBMIT PDUs, hands over received messages and status reports
// for the caller to store before they are deleted from the modem, watches
// the modem's health, and recovers from hangs and unplugs on its own.
//
// The files follow the life of a session. modem.go is the API a caller
// sees (Config, Modem, New, Send, Run, Status, Inbound and its Ack);
// session.go is one open port: the AT engine wrapped so that every command
// is watched (cmd, command, resync) and the serve loop; watchdog.go notices
// a modem that stopped answering; setup.go brings a fresh port to ready
// (init, identify, smsSetup; the PIN in pin.go); inbound.go reads what
// arrives (URCs, readStored, sweep), decodes each PDU once into a
// pdu.Received and hands it over, and deletes or acknowledges it on Ack;
// send.go writes one SMS-SUBMIT. parse.go reads the modem's answers.
package modem
