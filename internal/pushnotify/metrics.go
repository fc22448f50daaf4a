package pushnotify

import "github.com/prometheus/client_golang/prometheus"

// metrics are the notifier's counters. None has a label naming an
// account or a subscription.
type metrics struct {
	deposits    *prometheus.CounterVec // by result: queued, old, queue_full
	ignored     *prometheus.CounterVec // records ignored, by reason: malformed, unlisted_server
	coalesced   prometheus.Counter
	dropped     prometheus.Counter     // deposits for a subscription past MaxPending
	notifies    *prometheus.CounterVec // by result: sent, refused, failed
	retries     prometheus.Counter
	warmups     *prometheus.CounterVec // by result: ok, failed
	sendSeconds prometheus.Histogram
}

func newMetrics(reg prometheus.Registerer, n *Notifier) (*metrics, error) {
	opts := func(name, help string) prometheus.Opts {
		return prometheus.Opts{Namespace: "hush", Subsystem: "pushnotify", Name: name, Help: help}
	}
	m := &metrics{
		deposits: prometheus.NewCounterVec(prometheus.CounterOpts(opts("deposits_total", "New deposits seen by the push notifier, by result: queued, old (too old to wake anyone), queue_full (dropped).")), []string{"result"}),
		ignored: prometheus.NewCounterVec(prometheus.CounterOpts(opts("records_ignored_total",
			"Push subscription records ignored for a deposit, by reason: malformed, unlisted_server (names a push server the network file does not list).")), []string{"reason"}),
		coalesced: prometheus.NewCounter(prometheus.CounterOpts(opts("coalesced_total", "Deposits folded into a subscription's waiting notify."))),
		dropped:   prometheus.NewCounter(prometheus.CounterOpts(opts("pending_full_total", "Deposits dropped because the notifier tracked its most subscriptions."))),
		notifies:  prometheus.NewCounterVec(prometheus.CounterOpts(opts("notifies_total", "Notifies finished, by result: sent, refused (by the push server), failed (after every attempt).")), []string{"result"}),
		retries:   prometheus.NewCounter(prometheus.CounterOpts(opts("retries_total", "Notify attempts scheduled again after a failure."))),
		warmups:   prometheus.NewCounterVec(prometheus.CounterOpts(opts("warmups_total", "Info requests that keep the node's path to the push server warm, by result: ok, failed.")), []string{"result"}),
		sendSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: "hush", Subsystem: "pushnotify", Name: "send_seconds",
			Help: "Time of one notify attempt through the node's onion path.", Buckets: prometheus.ExponentialBuckets(0.01, 2, 12)}),
	}
	if reg == nil {
		return m, nil
	}
	queue := prometheus.NewGaugeFunc(prometheus.GaugeOpts(opts("queue", "Deposits waiting for the push notifier.")), func() float64 { return float64(len(n.queue)) })
	for _, c := range []prometheus.Collector{m.deposits, m.ignored, m.coalesced, m.dropped, m.notifies, m.retries, m.warmups, m.sendSeconds, queue} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}
