package telemetry

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gatehouse/gatehouse/storage"
)

// mailKinds and mailOutcomes are the label values of
// gatehouse_mail_deliveries_total (internal/mail); anything else is
// "other".
var (
	mailKinds    = [...]string{"activate", "reset", "invite"}
	mailOutcomes = [...]string{"sent", "retry", "failed"}
)

func newMailDeliveries() (*prometheus.CounterVec, [len(mailKinds) + 1][len(mailOutcomes)]prometheus.Counter) {
	vec := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "gatehouse_mail_deliveries_total",
		Help: "Mail delivery attempts, by kind and outcome: sent, retry (failed, tried again later) or failed (given up).",
	}, []string{"kind", "outcome"})
	var out [len(mailKinds) + 1][len(mailOutcomes)]prometheus.Counter
	for k := range out {
		for o := range out[k] {
			out[k][o] = vec.WithLabelValues(labelAt(mailKinds[:], k), mailOutcomes[o])
		}
	}
	return vec, out
}

// MailDelivery counts one delivery attempt (mail.Metrics).
func (m *Metrics) MailDelivery(kind, outcome string) {
	o := indexOf(mailOutcomes[:], outcome)
	if o == len(mailOutcomes) {
		return
	}
	m.mails[indexOf(mailKinds[:], kind)][o].Inc()
}

// WatchOutbox exports the outbox's size and the age of its oldest
// pending mail, read from stats at each scrape (bounded by a timeout, so
// that a slow database does not hold the scrape; a failed read exports
// nothing).
func (m *Metrics) WatchOutbox(stats func(context.Context) (storage.OutboxStats, error)) {
	pending := desc("gatehouse_mail_outbox_pending", "Mails in the outbox waiting to be sent or being sent.", nil)
	failed := desc("gatehouse_mail_outbox_failed", "Mails kept in the outbox after delivery was given up.", nil)
	age := desc("gatehouse_mail_outbox_oldest_age_seconds", "Age of the oldest mail waiting to be sent; 0 when none waits.", nil)
	m.reg.MustRegister(scrapeCollector{
		descs: []*prometheus.Desc{pending, failed, age},
		collect: func(ch chan<- prometheus.Metric) {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			st, err := stats(ctx)
			if err != nil {
				return
			}
			var a float64
			if !st.OldestPending.IsZero() {
				a = max(0, time.Since(st.OldestPending).Seconds())
			}
			ch <- prometheus.MustNewConstMetric(pending, prometheus.GaugeValue, float64(st.Pending))
			ch <- prometheus.MustNewConstMetric(failed, prometheus.GaugeValue, float64(st.Failed))
			ch <- prometheus.MustNewConstMetric(age, prometheus.GaugeValue, a)
		},
	})
}
