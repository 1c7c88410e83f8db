// Package modem drives one GSM modem over a serial port with AT commands:
// it sends SMS-SUBMIT PDUs, hands over received messages and status reports
// for the caller to store before they are deleted from the modem, watches
// the modem's health, and recovers from hangs and unplugs on its own.
package modem
