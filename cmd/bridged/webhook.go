package main

import (
	"time"

	"bridged/config"
	"bridged/queue"
	"bridged/webhook"
)

// webhookEndpoints turns each [[webhook]] into what the outbox queues for
// (name, event filter, retry limits) and what the sender posts to.
func webhookEndpoints(cfg *config.Config) ([]queue.WebhookEndpoint, []webhook.Endpoint) {
	var outbox []queue.WebhookEndpoint
	var send []webhook.Endpoint
	for _, w := range cfg.Webhooks {
		outbox = append(outbox, queue.WebhookEndpoint{
			Name: w.Name, Events: w.Events, MaxAttempts: w.MaxAttempts, MaxBackoff: time.Duration(w.MaxBackoff),
		})
		send = append(send, webhook.Endpoint{
			Name: w.Name, URL: w.URL, Secrets: w.SigningSecrets(), Timeout: time.Duration(w.Timeout),
		})
	}
	return outbox, send
}
