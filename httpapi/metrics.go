package httpapi

import (
	"crypto/sha256"
	"errors"
	"net/http"
	"slices"
)

// metricsPath is where the metrics are served; like /v1, it needs a token
// when any is configured, checked before anything is read.
const metricsPath = "/metrics"

// setMetrics routes GET /metrics to m, if given, and records the tokens it
// accepts: the API tokens and the metrics token.
func (h *Handler) setMetrics(token string, m http.Handler) error {
	if m == nil {
		if token != "" {
			return errors.New("httpapi: a metrics token without a metrics handler")
		}
		return nil
	}
	h.metrics = m
	h.metricsTokens = slices.Clone(h.tokens)
	if token != "" {
		h.metricsTokens = append(h.metricsTokens, sha256.Sum256([]byte(token)))
	}
	h.route("GET "+metricsPath, h.serveMetrics)
	return nil
}

// authorizeMetrics lets a /metrics request through when no token is
// configured, or with an API token or the metrics token.
func (h *Handler) authorizeMetrics(r *http.Request) error {
	if len(h.metricsTokens) == 0 {
		return nil
	}
	_, err := h.matchToken(r, h.metricsTokens)
	return err
}

func (h *Handler) serveMetrics(w http.ResponseWriter, r *http.Request) error {
	h.metrics.ServeHTTP(w, r)
	return nil
}
