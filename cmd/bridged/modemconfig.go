package main

import (
	"time"

	"bridged/config"
	"bridged/modem"
	"bridged/modem/modemsim"
)

// configDriver hands config the values that the modem driver and the
// simulator own, so that each is defined once (in package modem or
// modemsim) and check-config still shows the ones the daemon runs with.
func configDriver() config.Driver {
	return config.Driver{
		Baud:                modem.DefaultBaud,
		Storage:             modem.DefaultStorage,
		CommandTimeout:      modem.DefaultCommandTimeout,
		SendTimeout:         modem.DefaultSendTimeout,
		HealthInterval:      modem.DefaultHealthInterval,
		SweepInterval:       modem.DefaultSweepInterval,
		RegistrationTimeout: modem.DefaultRegistrationTimeout,
		Quirks:              modem.QuirksNames(),
		SimNumber:           modemsim.DefaultNumber,
	}
}

// driverConfig returns the modem driver's configuration for one [[modem]].
// For a simulated modem Device is "sim": serve creates the simulated modem
// and puts its pty path there. Logger and PINJournal are left for serve.
func driverConfig(m config.Modem) modem.Config {
	return modem.Config{
		ID:                  m.ID,
		Device:              m.Device,
		Baud:                m.Baud,
		PIN:                 m.PIN,
		SMSC:                m.SMSC,
		Storage:             m.Storage,
		CommandTimeout:      time.Duration(m.CommandTimeout),
		SendTimeout:         time.Duration(m.SendTimeout),
		HealthInterval:      time.Duration(m.HealthInterval),
		SweepInterval:       time.Duration(m.SweepInterval),
		RegistrationTimeout: time.Duration(m.RegistrationTimeout),
		Quirks:              m.Quirks,
		Direct:              m.Direct,
		CNMI:                m.CNMI,
	}
}
