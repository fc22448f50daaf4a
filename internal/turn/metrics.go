package turn

import "github.com/prometheus/client_golang/prometheus"

// metrics are the server's Prometheus series; none has a per-client,
// per-credential or per-relay label.
type metrics struct {
	credentials *prometheus.CounterVec // endpoint results: issued or a refusal reason
	auth        *prometheus.CounterVec // TURN requests refused before integrity, by reason
	allocated   prometheus.Counter
	refused     *prometheus.CounterVec // allocations and permissions refused, by reason
	relayed     *prometheus.CounterVec // bytes relayed, by direction
	dropped     *prometheus.CounterVec // bytes (or datagrams, for peer) dropped, by reason
}

// metricNames are the series' names as the transparency report lists
// them.
var metricNames = []string{
	"hush_turn_credentials_total{result}", "hush_turn_auth_refused_total{reason}", "hush_turn_allocations_total",
	"hush_turn_refused_total{reason}", "hush_turn_relayed_bytes_total{direction}", "hush_turn_dropped_total{reason}",
	"hush_turn_allocations", "hush_turn_credentials_in_use",
}

func newMetrics(reg prometheus.Registerer, a *allocations) *metrics {
	opts := func(name, help string) prometheus.CounterOpts {
		return prometheus.CounterOpts{Namespace: "hush", Subsystem: "turn", Name: name, Help: help}
	}
	m := &metrics{
		credentials: prometheus.NewCounterVec(opts("credentials_total", "Credential requests, by result (issued or why refused)."), []string{"result"}),
		auth:        prometheus.NewCounterVec(opts("auth_refused_total", "TURN requests whose username was refused (malformed, expired, too_long)."), []string{"reason"}),
		allocated:   prometheus.NewCounter(opts("allocations_total", "Relay allocations made.")),
		refused:     prometheus.NewCounterVec(opts("refused_total", "Allocations (credential_quota, capacity) and permissions (peer) refused."), []string{"reason"}),
		relayed:     prometheus.NewCounterVec(opts("relayed_bytes_total", "Bytes relayed, to_peer or to_client."), []string{"direction"}),
		dropped:     prometheus.NewCounterVec(opts("dropped_total", "Bytes dropped over a bandwidth limit, or datagrams to or from a refused peer, by reason."), []string{"reason"}),
	}
	reg.MustRegister(m.credentials, m.auth, m.allocated, m.refused, m.relayed, m.dropped,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: "hush", Subsystem: "turn", Name: "allocations", Help: "Live relay allocations."},
			func() float64 { return float64(a.total.Load()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: "hush", Subsystem: "turn", Name: "credentials_in_use", Help: "Credentials holding allocations."},
			func() float64 { return float64(a.credentials()) }),
	)
	return m
}
