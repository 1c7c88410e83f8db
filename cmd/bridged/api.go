package main

import (
	"fmt"
	"log/slog"
	"time"

	"bridged/config"
	"bridged/httpapi"
	"bridged/metrics"
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

// newAPI builds the HTTP API (and GET /metrics) over the store and the
// modems from cfg, with the encoding the store and the dispatcher are
// given. The dispatcher learns of new messages from the store's commits
// (Subscribe), not from the API.
func newAPI(cfg *config.Config, encoding pdu.Options, store *queue.Store, mods []*modem.Modem, log *slog.Logger) (*httpapi.Handler, error) {
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
		MetricsToken:    cfg.HTTP.MetricsToken,
	}, httpapi.Deps{Store: store, Health: store, Modems: modemList(mods), Events: store, Webhooks: store,
		Metrics: metrics.New(store, modemList(mods), metrics.Options{Build: metricsBuild(), Logger: log})})
	if err != nil {
		return nil, fmt.Errorf("http api: %w", err)
	}
	return h, nil
}

// metricsBuild is bridged_build_info's labels: what "bridged version" says.
func metricsBuild() metrics.Build {
	b := currentBuild()
	return metrics.Build{Version: b.Version, Commit: b.Commit, GoVersion: b.Go}
}
