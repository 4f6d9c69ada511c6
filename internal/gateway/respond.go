package gateway

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
)

type errorBody struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// writeError sends the gateway's error shape with a stable reason code.
func writeError(w http.ResponseWriter, status int, code, message string) {
	var body errorBody
	body.Error.Code = code
	body.Error.Message = message

	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(body)
}

// errBodyTooLarge is returned by readBody when the request exceeds its cap.
var errBodyTooLarge = errors.New("request body too large")

// readBody reads at most limit bytes; one byte more is an error, so a
// client cannot make the gateway buffer more than limit+1 bytes.
func readBody(r *http.Request, limit int64) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(r.Body, limit+1))
	if err != nil {
		return nil, fmt.Errorf("read request body: %w", err)
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("%w: more than %d bytes", errBodyTooLarge, limit)
	}
	return data, nil
}
