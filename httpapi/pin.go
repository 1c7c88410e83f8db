package httpapi

import (
	"context"
	"fmt"
	"net/http"
)

// PINClearer forgets a modem's SIM PIN refusal: the Modems of Deps
// implement it when DELETE /v1/modems/{id}/pin-refusal should work.
type PINClearer interface {
	// ClearPINRefusal forgets that the SIM in modem id refused the
	// configured PIN (or may have), so that the modem enters it again, once,
	// now. found is false for an unknown modem; cleared counts the records
	// removed (0: there was no refusal).
	ClearPINRefusal(ctx context.Context, id string) (found bool, cleared int, err error)
}

// clearPINRefusal is DELETE /v1/modems/{id}/pin-refusal, what `bridged
// modems clear-pin ID` calls on a running daemon. Authenticated like all of
// /v1; it writes to the store, once per call.
func (h *Handler) clearPINRefusal(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	c, ok := h.modems.(PINClearer)
	if !ok {
		return &Error{Code: CodeNotFound, Message: fmt.Sprintf("no modem %q", id)}
	}
	found, n, err := c.ClearPINRefusal(r.Context(), id)
	if err != nil {
		return fmt.Errorf("clear PIN refusal of modem %q: %w", id, err)
	}
	if !found {
		return &Error{Code: CodeNotFound, Message: fmt.Sprintf("no modem %q (see GET /v1/modems)", id)}
	}
	writeJSON(w, http.StatusOK, struct {
		Modem   string `json:"modem"`
		Cleared int    `json:"cleared"`
	}{id, n})
	return nil
}
