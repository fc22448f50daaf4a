package relay

import "github.com/prometheus/client_golang/prometheus"

// Metrics returns Prometheus collectors of the relay's onion sessions
// (hush_onion_sessions and hush_onion_session_*_total), for the node's
// registry. They are totals over all sources: no label names a client or
// a relay.
func (rl *Relay) Metrics() []prometheus.Collector {
	gauge := func(name, help string, f func(SessionStats) float64) prometheus.Collector {
		return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: "hush", Subsystem: "onion", Name: name, Help: help},
			func() float64 { return f(rl.SessionStats()) })
	}
	counter := func(name, help string, f func(SessionStats) uint64) prometheus.Collector {
		return prometheus.NewCounterFunc(prometheus.CounterOpts{Namespace: "hush", Subsystem: "onion", Name: name, Help: help},
			func() float64 { return float64(f(rl.SessionStats())) })
	}
	return []prometheus.Collector{
		gauge("sessions", "Onion sessions held (guard and middle-relay positions).",
			func(s SessionStats) float64 { return float64(s.Sessions) }),
		counter("sessions_opened_total", "Onion sessions opened.",
			func(s SessionStats) uint64 { return s.Opened }),
		counter("session_requests_total", "Onion session frames accepted (warm requests, no public-key work).",
			func(s SessionStats) uint64 { return s.Warm }),
		counter("session_replays_total", "Onion session frames refused by the replay window.",
			func(s SessionStats) uint64 { return s.Replayed }),
		counter("session_unknown_total", "Onion session frames answered session_unknown.",
			func(s SessionStats) uint64 { return s.Unknown }),
	}
}
