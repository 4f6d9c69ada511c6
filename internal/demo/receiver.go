package demo

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"time"
)

// Delivery is one webhook call the receiver got.
type Delivery struct {
	Path           string
	IdempotencyKey string
	RunID          string
	Body           json.RawMessage
}

// receiver is the demo's stand-in for an org's alerting endpoint: a real
// HTTP server on loopback that records what moat delivers to it.
type receiver struct {
	mu         sync.Mutex
	deliveries []Delivery
	srv        *http.Server
	ln         net.Listener
	onDelivery func(Delivery)
}

func startReceiver(addr string, onDelivery func(Delivery)) (*receiver, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("start webhook receiver on %s: %w (pick another with --receiver-addr)", addr, err)
	}
	r := &receiver{ln: ln, onDelivery: onDelivery}
	r.srv = &http.Server{Handler: http.HandlerFunc(r.handle), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = r.srv.Serve(ln) }()
	return r, nil
}

func (r *receiver) handle(w http.ResponseWriter, req *http.Request) {
	body, err := io.ReadAll(io.LimitReader(req.Body, 1<<20))
	if err != nil || !json.Valid(body) {
		http.Error(w, "expected a JSON body", http.StatusBadRequest)
		return
	}
	d := Delivery{
		Path:           req.URL.Path,
		IdempotencyKey: req.Header.Get("Idempotency-Key"),
		RunID:          req.Header.Get("X-Moat-Run"),
		Body:           body,
	}

	r.mu.Lock()
	r.deliveries = append(r.deliveries, d)
	r.mu.Unlock()

	if r.onDelivery != nil {
		r.onDelivery(d)
	}
	w.WriteHeader(http.StatusNoContent)
}

// Addr returns the receiver's host:port.
func (r *receiver) Addr() string { return r.ln.Addr().String() }

// Deliveries returns what the receiver got so far.
func (r *receiver) Deliveries() []Delivery {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Delivery(nil), r.deliveries...)
}

func (r *receiver) Close() error { return r.srv.Close() }
