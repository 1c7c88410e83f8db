package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"strings"
	"time"
)

// Signature is the X-Bridged-Signature value for body sent at t:
// "t=UNIX,v1=HEX", HEX the HMAC-SHA256 of "UNIX.body" under one secret, one
// v1= per secret in the order given, so that while a secret is rotated
// (secrets = [new, old]) a receiver that knows either accepts the request.
func Signature(t time.Time, body []byte, secrets []string) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	var b strings.Builder
	b.WriteString("t=" + ts)
	for _, secret := range secrets {
		mac := hmac.New(sha256.New, []byte(secret))
		mac.Write([]byte(ts + "."))
		mac.Write(body)
		b.WriteString(",v1=" + hex.EncodeToString(mac.Sum(nil)))
	}
	return b.String()
}
