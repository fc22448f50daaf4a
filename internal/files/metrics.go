package files

import (
	"encoding/base64"

	"github.com/prometheus/client_golang/prometheus"
)

var base64RawURL = base64.RawURLEncoding

// metrics are the server's Prometheus series. None has a label per blob or
// per relay: an operator's dashboard is no log of who stored what.
type metrics struct {
	requests *prometheus.CounterVec // by op and result code
	refused  *prometheus.CounterVec // before a request is read, by reason
	bytesIn  prometheus.Counter
	bytesOut prometheus.Counter
	swept    prometheus.Counter
}

func newMetrics(reg prometheus.Registerer, st *Store) *metrics {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "hush", Subsystem: "files", Name: "requests_total",
			Help: "Requests answered, by operation and result (ok or an error code)."}, []string{"op", "result"}),
		refused: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "hush", Subsystem: "files", Name: "refused_total",
			Help: "Requests refused before their operation was read, by reason."}, []string{"reason"}),
		bytesIn: prometheus.NewCounter(prometheus.CounterOpts{Namespace: "hush", Subsystem: "files", Name: "uploaded_bytes_total",
			Help: "Blob bytes stored."}),
		bytesOut: prometheus.NewCounter(prometheus.CounterOpts{Namespace: "hush", Subsystem: "files", Name: "downloaded_bytes_total",
			Help: "Blob bytes served."}),
		swept: prometheus.NewCounter(prometheus.CounterOpts{Namespace: "hush", Subsystem: "files", Name: "swept_total",
			Help: "Expired blobs deleted."}),
	}
	reg.MustRegister(m.requests, m.refused, m.bytesIn, m.bytesOut, m.swept,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: "hush", Subsystem: "files", Name: "blobs", Help: "Blobs stored."},
			func() float64 { return float64(st.Stats().Blobs) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: "hush", Subsystem: "files", Name: "bytes", Help: "Blob bytes stored."},
			func() float64 { return float64(st.Stats().Bytes) }),
	)
	return m
}
