// Package telemetrytest receives OpenTelemetry spans in tests: an
// in-process collector endpoint speaking OTLP over HTTP.
package telemetrytest

import (
	"compress/gzip"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"

	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	"google.golang.org/protobuf/proto"
)

// Span is a received span, flattened for assertions.
type Span struct {
	Name    string
	TraceID string // hex
	Kind    string // SPAN_KIND_SERVER, SPAN_KIND_CLIENT, …
	// Attributes holds every attribute, of the span and of its resource
	// (prefixed "resource."), as text.
	Attributes map[string]string
	Status     string // STATUS_CODE_UNSET, STATUS_CODE_ERROR, …
	StatusMsg  string
}

// Receiver is an OTLP/HTTP endpoint: its URL is what tracing's
// otlp_endpoint takes, and spans POSTed to URL/v1/traces are kept.
type Receiver struct {
	URL string

	mu    sync.Mutex
	spans []Span
}

// NewReceiver starts a receiver, stopped when the test ends.
func NewReceiver(t testing.TB) *Receiver {
	rc := &Receiver{}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/traces", rc.handle)
	ts := httptest.NewServer(mux)
	t.Cleanup(ts.Close)
	rc.URL = ts.URL
	return rc
}

func (rc *Receiver) handle(w http.ResponseWriter, r *http.Request) {
	var body io.Reader = r.Body
	if r.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		body = zr
	}
	raw, err := io.ReadAll(body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	var req coltracepb.ExportTraceServiceRequest
	if err := proto.Unmarshal(raw, &req); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	var got []Span
	for _, rs := range req.GetResourceSpans() {
		resAttrs := map[string]string{}
		for _, kv := range rs.GetResource().GetAttributes() {
			resAttrs["resource."+kv.GetKey()] = text(kv.GetValue())
		}
		for _, ss := range rs.GetScopeSpans() {
			for _, sp := range ss.GetSpans() {
				s := Span{Name: sp.GetName(), TraceID: hex.EncodeToString(sp.GetTraceId()), Kind: sp.GetKind().String(),
					Attributes: map[string]string{}, Status: sp.GetStatus().GetCode().String(), StatusMsg: sp.GetStatus().GetMessage()}
				for k, v := range resAttrs {
					s.Attributes[k] = v
				}
				for _, kv := range sp.GetAttributes() {
					s.Attributes[kv.GetKey()] = text(kv.GetValue())
				}
				got = append(got, s)
			}
		}
	}
	rc.mu.Lock()
	rc.spans = append(rc.spans, got...)
	rc.mu.Unlock()
	w.Header().Set("Content-Type", "application/x-protobuf")
	out, _ := proto.Marshal(&coltracepb.ExportTraceServiceResponse{})
	_, _ = w.Write(out)
}

// text renders an attribute value; arrays and maps as their protobuf text.
func text(v *commonpb.AnyValue) string {
	switch x := v.GetValue().(type) {
	case *commonpb.AnyValue_StringValue:
		return x.StringValue
	case *commonpb.AnyValue_IntValue:
		return strconv.FormatInt(x.IntValue, 10)
	case nil:
		return ""
	}
	return v.String()
}

// Spans returns the spans received so far.
func (rc *Receiver) Spans() []Span {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]Span(nil), rc.spans...)
}
