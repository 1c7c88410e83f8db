package main

import (
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"bridged/config"
	"bridged/httpapi"
	"bridged/modem"
	"bridged/pdu"
	"bridged/queue"
)

// modemList reports the drivers' statuses to the API.
type modemList []*modem.Modem

func (l modemList) Statuses() []modem.Status {
	out := make([]modem.Status, len(l))
	for i, m := range l {
		out[i] = m.Status()
	}
	return out
}

// newAPI builds the HTTP API over the store and the modems from cfg, with
// the encoding the store and the dispatcher are given. The
// dispatcher learns of new messages from the store's commits (Subscribe),
// not from the API.
func newAPI(cfg *config.Config, encoding pdu.Options, store *queue.Store, mods []*modem.Modem, log *slog.Logger) (http.Handler, error) {
	h, err := httpapi.New(httpapi.Options{
		Tokens:          cfg.HTTP.Tokens,
		AllowedHosts:    cfg.HTTP.AllowedHosts,
		MaxRecipients:   cfg.HTTP.MaxRecipients,
		MaxBodyBytes:    cfg.HTTP.MaxBodyBytes,
		DefaultCountry:  cfg.SMS.DefaultCountry,
		Encoding:        encoding,
		DefaultValidity: time.Duration(cfg.SMS.DefaultValidity),
		DeliveryReports: cfg.SMS.DeliveryReports,
		Logger:          log,
	}, httpapi.Deps{Store: store, Health: store, Modems: modemList(mods), Webhooks: store})
	if err != nil {
		return nil, fmt.Errorf("http api: %w", err)
	}
	return h, nil
}
