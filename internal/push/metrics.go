package push

import (
	"context"
	"errors"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the server's Prometheus metrics. No label names a
// subscription, a token, an endpoint or a relay: labels are ops, result
// codes and provider names only.
type Metrics struct {
	requests *prometheus.CounterVec
	sends    *prometheus.CounterVec
	sendTime *prometheus.HistogramVec
	dedupes  prometheus.Counter
}

// NewMetrics registers the metrics with reg (nil: unregistered) and, when
// store is set, a gauge of subscriptions per provider read at scrape.
func NewMetrics(reg prometheus.Registerer, store *Store) *Metrics {
	m := &Metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "hush_push_requests_total", Help: "Requests by op and result code."}, []string{"op", "code"}),
		sends:    prometheus.NewCounterVec(prometheus.CounterOpts{Name: "hush_push_sends_total", Help: "Pushes handed to providers, by provider and result."}, []string{"provider", "result"}),
		sendTime: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "hush_push_send_seconds", Help: "Time a provider took to accept a push.", Buckets: prometheus.ExponentialBuckets(0.005, 2, 12)}, []string{"provider"}),
		dedupes:  prometheus.NewCounter(prometheus.CounterOpts{Name: "hush_push_dedupe_dropped_total", Help: "Notifies dropped as repeats of a tag."}),
	}
	if reg != nil {
		reg.MustRegister(m.requests, m.sends, m.sendTime, m.dedupes)
		if store != nil {
			reg.MustRegister(&subsCollector{store: store, desc: prometheus.NewDesc("hush_push_subscriptions", "Subscriptions by provider.", []string{"provider"}, nil)})
		}
	}
	return m
}

func (m *Metrics) request(op, code string) { m.requests.WithLabelValues(op, code).Inc() }
func (m *Metrics) dedupe()                 { m.dedupes.Inc() }

func (m *Metrics) send(provider string, err error, d time.Duration) {
	result := "ok"
	if err != nil {
		result = errKind(err)
	}
	m.sends.WithLabelValues(provider, result).Inc()
	if err == nil {
		m.sendTime.WithLabelValues(provider).Observe(d.Seconds())
	}
}

type subsCollector struct {
	store *Store
	desc  *prometheus.Desc
}

func (c *subsCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c *subsCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	n, err := c.store.Count(ctx)
	if err != nil && !errors.Is(err, context.Canceled) {
		return
	}
	for p, v := range n {
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, float64(v), p)
	}
}
