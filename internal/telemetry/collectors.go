package telemetry

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gatehouse/gatehouse/internal/credential"
	"github.com/gatehouse/gatehouse/internal/storecache"
	"github.com/gatehouse/gatehouse/storage"
)

// scrapeCollector reads a component's state when Prometheus scrapes.
type scrapeCollector struct {
	descs   []*prometheus.Desc
	collect func(ch chan<- prometheus.Metric)
}

func (c scrapeCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range c.descs {
		ch <- d
	}
}

func (c scrapeCollector) Collect(ch chan<- prometheus.Metric) { c.collect(ch) }

func desc(name, help string, constLabels prometheus.Labels, labels ...string) *prometheus.Desc {
	return prometheus.NewDesc(name, help, labels, constLabels)
}

// WatchHasher exports the password hasher's slots and queue, and makes
// every hash report its wait.
func (m *Metrics) WatchHasher(h *credential.PasswordHasher) {
	h.ObserveWait(m.ObserveHashWait)
	slots := desc("gatehouse_password_hash_slots", "Password hashes that may run at once (password.max_concurrent_hashes).", nil)
	inUse := desc("gatehouse_password_hash_slots_in_use", "Password hashes running now.", nil)
	queue := desc("gatehouse_password_hash_queue_capacity", "Password hashes that may wait for a slot (password.max_queue).", nil)
	queued := desc("gatehouse_password_hash_queue_length", "Password hashes waiting for a slot now.", nil)
	refused := desc("gatehouse_password_hash_refusals_total", "Password hashes refused because every slot and queue place was taken or the wait ran out (answered 503).", nil)
	m.reg.MustRegister(scrapeCollector{
		descs: []*prometheus.Desc{slots, inUse, queue, queued, refused},
		collect: func(ch chan<- prometheus.Metric) {
			st := h.Stats()
			ch <- prometheus.MustNewConstMetric(slots, prometheus.GaugeValue, float64(st.Slots))
			ch <- prometheus.MustNewConstMetric(inUse, prometheus.GaugeValue, float64(st.InUse))
			ch <- prometheus.MustNewConstMetric(queue, prometheus.GaugeValue, float64(st.Queue))
			ch <- prometheus.MustNewConstMetric(queued, prometheus.GaugeValue, float64(st.Queued))
			ch <- prometheus.MustNewConstMetric(refused, prometheus.CounterValue, float64(st.Refusals))
		},
	})
}

// WatchCaches exports the storage cache's hits and misses per cache and
// its change-stamp reads.
func (m *Metrics) WatchCaches(c *storecache.Store) {
	hits := desc("gatehouse_cache_hits_total", "Token-path reads served from the cache, by cache.", nil, "cache")
	misses := desc("gatehouse_cache_misses_total", "Token-path reads that went to the database (absent, or loaded under an older change stamp), by cache.", nil, "cache")
	requests := desc("gatehouse_change_stamp_requests_total", "Requests that needed the change stamp (one per token request).", nil)
	reads := desc("gatehouse_change_stamp_reads_total", "Change-stamp reads sent to Redis; concurrent requests share one.", nil)
	m.reg.MustRegister(scrapeCollector{
		descs: []*prometheus.Desc{hits, misses, requests, reads},
		collect: func(ch chan<- prometheus.Metric) {
			st := c.Stats()
			for _, k := range st.Caches {
				ch <- prometheus.MustNewConstMetric(hits, prometheus.CounterValue, float64(k.Hits), k.Name)
				ch <- prometheus.MustNewConstMetric(misses, prometheus.CounterValue, float64(k.Misses), k.Name)
			}
			ch <- prometheus.MustNewConstMetric(requests, prometheus.CounterValue, float64(st.StampRequests))
			ch <- prometheus.MustNewConstMetric(reads, prometheus.CounterValue, float64(st.StampReads))
		},
	})
}

// Pool names, the pool label's values.
const (
	PoolPostgres = "postgres"
	PoolRedis    = "redis"
)

// WatchPool exports a backend's connection pool; name is PoolPostgres or
// PoolRedis.
func (m *Metrics) WatchPool(name string, p interface{ PoolStats() storage.PoolStats }) {
	l := prometheus.Labels{"pool": name}
	conns := desc("gatehouse_pool_connections", "Open connections of a backend's pool, by state (idle or in_use).", l, "state")
	maxConns := desc("gatehouse_pool_max_connections", "The most connections a backend's pool opens.", l)
	acquires := desc("gatehouse_pool_acquires_total", "Connections taken from a backend's pool.", l)
	waits := desc("gatehouse_pool_waits_total", "Acquisitions that found no free connection and waited.", l)
	waited := desc("gatehouse_pool_wait_seconds_total", "Total time spent waiting for a connection.", l)
	timeouts := desc("gatehouse_pool_timeouts_total", "Acquisitions that gave up waiting for a connection (Redis: pool timeout; PostgreSQL: request cancelled or timed out while waiting).", l)
	m.reg.MustRegister(scrapeCollector{
		descs: []*prometheus.Desc{conns, maxConns, acquires, waits, waited, timeouts},
		collect: func(ch chan<- prometheus.Metric) {
			st := p.PoolStats()
			ch <- prometheus.MustNewConstMetric(conns, prometheus.GaugeValue, float64(st.IdleConns), "idle")
			ch <- prometheus.MustNewConstMetric(conns, prometheus.GaugeValue, float64(max(st.TotalConns-st.IdleConns, 0)), "in_use")
			ch <- prometheus.MustNewConstMetric(maxConns, prometheus.GaugeValue, float64(st.MaxConns))
			ch <- prometheus.MustNewConstMetric(acquires, prometheus.CounterValue, float64(st.Acquires))
			ch <- prometheus.MustNewConstMetric(waits, prometheus.CounterValue, float64(st.Waits))
			ch <- prometheus.MustNewConstMetric(waited, prometheus.CounterValue, st.WaitTime.Seconds())
			ch <- prometheus.MustNewConstMetric(timeouts, prometheus.CounterValue, float64(st.Timeouts))
		},
	})
}

// WatchSigningKey exports the active signing key's age (keys.Manager),
// absent until a key is active.
func (m *Metrics) WatchSigningKey(k interface{ ActiveKeyAge() (time.Duration, bool) }) {
	age := desc("gatehouse_signing_key_age_seconds", "Time since the active signing key began signing.", nil)
	m.reg.MustRegister(scrapeCollector{
		descs: []*prometheus.Desc{age},
		collect: func(ch chan<- prometheus.Metric) {
			if d, ok := k.ActiveKeyAge(); ok {
				ch <- prometheus.MustNewConstMetric(age, prometheus.GaugeValue, d.Seconds())
			}
		},
	})
}
