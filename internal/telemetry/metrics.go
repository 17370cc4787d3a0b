package telemetry

import (
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics holds Gatehouse's Prometheus metrics. It implements the
// recording interfaces of the server (server.HTTPMetrics), of the token
// endpoint (oauth.TokenMetrics) and of mail delivery (mail.Metrics). It is safe for concurrent use.
type Metrics struct {
	reg *prometheus.Registry

	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	routes   atomic.Pointer[map[string]*routeSeries] // copy on write
	routesMu sync.Mutex

	tokens   [len(grants) + 1][len(outcomes) + 1]prometheus.Counter
	hashWait prometheus.Histogram
	mails    [len(mailKinds) + 1][len(mailOutcomes)]prometheus.Counter
}

// maxRoutes bounds the route label: the server only reports templates,
// which are few, and anything past this bound is counted as "other".
const maxRoutes = 500

// NewMetrics returns the metrics on a registry of their own (not
// Prometheus's global one, which any imported package may fill), with the
// Go runtime and process collectors.
func NewMetrics() *Metrics {
	m := &Metrics{reg: prometheus.NewRegistry()}
	m.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))

	labels := []string{"route", "method", "code_class"}
	m.requests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "gatehouse_http_requests_total",
		Help: "HTTP requests answered, by route template, method and status class.",
	}, labels)
	m.duration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "gatehouse_http_request_duration_seconds",
		Help:    "Time from receiving an HTTP request to its handler's return, by route template, method and status class.",
		Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
	}, labels)
	routes := map[string]*routeSeries{}
	m.routes.Store(&routes)

	tokens := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "gatehouse_tokens_issued_total",
		Help: "Token endpoint answers, by grant type and outcome: issued, or the RFC 6749 error code.",
	}, []string{"grant", "outcome"})
	// Every series exists from the start, so that rate() and alerts see
	// a refusal's first occurrence.
	for g := range m.tokens {
		for o := range m.tokens[g] {
			m.tokens[g][o] = tokens.WithLabelValues(labelAt(grants[:], g), labelAt(outcomes[:], o))
		}
	}
	m.hashWait = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "gatehouse_password_hash_wait_seconds",
		Help:    "Time a password hash waited for a hashing slot (0 when one was free), refused ones included.",
		Buckets: []float64{.001, .005, .01, .025, .05, .1, .25, .5, 1, 2, 5, 10},
	})
	mails, series := newMailDeliveries()
	m.mails = series
	m.reg.MustRegister(m.requests, m.duration, tokens, m.hashWait, mails)
	return m
}

// Handler serves the metrics in Prometheus's exposition format at
// /metrics, and nothing else: it is the whole metrics listener.
func (m *Metrics) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{}))
	return mux
}

// Registry returns the registry, for collectors of the caller's own.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// labelAt returns values[i], or "other" past the end.
func labelAt(values []string, i int) string {
	if i < len(values) {
		return values[i]
	}
	return other
}

const other = "other"

// methods are the method label's values; anything else is "other".
var methods = [...]string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
	http.MethodDelete, http.MethodOptions, http.MethodConnect, http.MethodTrace}

// codeClasses are the code_class label's values, by status / 100;
// anything else is "other".
var codeClasses = [...]string{"", "1xx", "2xx", "3xx", "4xx", "5xx"}

// routeSeries are one route's bound series, made on first use.
type routeSeries struct {
	route  string
	series [len(methods) + 1][len(codeClasses)]atomic.Pointer[bound]
}

type bound struct {
	count    prometheus.Counter
	duration prometheus.Observer
}

// ObserveRequest records a finished request. route is a path template
// (the server never passes a raw path); method and status are folded into
// their fixed sets. Apart from a route's first request it allocates
// nothing.
func (m *Metrics) ObserveRequest(route, method string, status int, elapsed time.Duration) {
	rs := m.route(route)
	mi := indexOf(methods[:], method)
	ci := status / 100
	if ci < 1 || ci >= len(codeClasses) {
		ci = 0
	}
	slot := &rs.series[mi][ci]
	b := slot.Load()
	if b == nil {
		class := codeClasses[ci]
		if class == "" {
			class = other
		}
		labels := []string{rs.route, labelAt(methods[:], mi), class}
		b = &bound{count: m.requests.WithLabelValues(labels...), duration: m.duration.WithLabelValues(labels...)}
		if !slot.CompareAndSwap(nil, b) {
			b = slot.Load()
		}
	}
	b.count.Inc()
	b.duration.Observe(elapsed.Seconds())
}

// route returns the series of route, adding it under the lock when new.
func (m *Metrics) route(route string) *routeSeries {
	if rs, ok := (*m.routes.Load())[route]; ok {
		return rs
	}
	m.routesMu.Lock()
	defer m.routesMu.Unlock()
	cur := *m.routes.Load()
	if rs, ok := cur[route]; ok {
		return rs
	}
	if len(cur) >= maxRoutes {
		route = other
		if rs, ok := cur[route]; ok {
			return rs
		}
	}
	next := make(map[string]*routeSeries, len(cur)+1)
	for k, v := range cur {
		next[k] = v
	}
	rs := &routeSeries{route: route}
	next[route] = rs
	m.routes.Store(&next)
	return rs
}

// indexOf returns the index of v in values, or len(values).
func indexOf(values []string, v string) int {
	for i, x := range values {
		if x == v {
			return i
		}
	}
	return len(values)
}

// grants are the grant label's values: the grant types the token endpoint
// serves. Any other grant_type a client sends is "other".
var grants = [...]string{"client_credentials", "password", "refresh_token", "authorization_code"}

// outcomes are the outcome label's values: issued, the error codes of RFC
// 6749 §5.2, and those of §4.1.2.1 the token endpoint answers with when
// it is overloaded or fails. Anything else is "other".
var outcomes = [...]string{"issued", "invalid_request", "invalid_client", "invalid_grant", "unauthorized_client",
	"unsupported_grant_type", "invalid_scope", "temporarily_unavailable", "server_error"}

// TokenRequest counts one answer of the token endpoint.
func (m *Metrics) TokenRequest(grant, outcome string) {
	m.tokens[indexOf(grants[:], grant)][indexOf(outcomes[:], outcome)].Inc()
}

// ObserveHashWait records how long a password hash waited for a slot
// (credential.PasswordHasher.ObserveWait).
func (m *Metrics) ObserveHashWait(d time.Duration) { m.hashWait.Observe(d.Seconds()) }
