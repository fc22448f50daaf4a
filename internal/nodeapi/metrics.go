package nodeapi

import (
	"encoding/hex"
	"slices"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hushnet/hush/protocol/rpc"
)

// metrics are the handler's Prometheus series. Labels are the method (from
// a fixed list) and the result code, never an account or address.
type metrics struct {
	requests    *prometheus.CounterVec
	duration    *prometheus.HistogramVec
	rateLimited prometheus.Counter
	held        prometheus.Gauge
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "hush", Subsystem: "rpc", Name: "requests_total",
			Help: "Storage RPC requests by method and result code (ok or an error code).",
		}, []string{"method", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: "hush", Subsystem: "rpc", Name: "request_seconds",
			Help:    "Time to handle a top-level storage RPC request.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 4, 8),
		}, []string{"method"}),
		rateLimited: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "hush", Subsystem: "rpc", Name: "rate_limited_total",
			Help: "Requests refused by the per-IP rate limit.",
		}),
		held: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: "hush", Subsystem: "rpc", Name: "held_retrieves",
			Help: "Retrieves held open until a message lands or their wait ends (fast mode).",
		}),
	}
	if reg != nil {
		for _, c := range []prometheus.Collector{m.requests, m.duration, m.rateLimited, m.held} {
			if err := reg.Register(c); err != nil {
				return nil, err
			}
		}
	}
	return m, nil
}

// metricMethod keeps label values to the known methods, so a client cannot
// create series at will.
func metricMethod(method string) string {
	if slices.Contains(rpc.Methods, method) || method == MethodGetSnapshot {
		return method
	}
	if method == MethodSnapshot {
		return MethodGetSnapshot
	}
	return "unknown"
}

func (m *metrics) observe(method string, body any, d time.Duration) {
	code := "ok"
	if e, ok := body.(*rpc.ErrorBody); ok && e.Error != nil {
		code = string(e.Error.Code)
	}
	method = metricMethod(method)
	m.requests.WithLabelValues(method, code).Inc()
	if d > 0 {
		m.duration.WithLabelValues(method).Observe(d.Seconds())
	}
}

func hexKey(k [32]byte) string { return hex.EncodeToString(k[:]) }
