package devdemo

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// handlerTransport serves requests to the issuer with an http.Handler in
// memory: the relying party's calls to discovery, JWKS and the token
// endpoint reach the server's own routes without a socket. It refuses
// any other URL, so that nothing a discovery document says makes the
// server call out.
type handlerTransport struct {
	issuer *url.URL
	h      http.Handler
}

// RoundTrip implements http.RoundTripper.
func (t handlerTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	base := strings.TrimSuffix(t.issuer.Path, "/")
	if req.URL.Scheme != t.issuer.Scheme || req.URL.Host != t.issuer.Host || !strings.HasPrefix(req.URL.Path, base+"/") {
		return nil, fmt.Errorf("devdemo: %s is not under the issuer", req.URL.Redacted())
	}
	in := req.Clone(req.Context())
	// The routes are mounted without the issuer's path, as behind a proxy
	// that strips it (internal/signin.Options.Issuer).
	in.URL.Path = strings.TrimPrefix(in.URL.Path, base)
	in.URL.RawPath = ""
	if in.Body == nil {
		in.Body = http.NoBody
	}
	// What a server-side request would carry: a peer address (the token
	// endpoint records it) and the path as the router sees it.
	in.RemoteAddr = "127.0.0.1:0"
	in.RequestURI = in.URL.RequestURI()
	w := &memoryWriter{header: http.Header{}}
	t.h.ServeHTTP(w, in)
	if w.status == 0 {
		w.status = http.StatusOK
	}
	res := &http.Response{
		Status: strconv.Itoa(w.status) + " " + http.StatusText(w.status), StatusCode: w.status,
		Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: w.header, Body: io.NopCloser(bytes.NewReader(w.body.Bytes())),
		ContentLength: int64(w.body.Len()), Request: req,
	}
	return res, nil
}

// memoryWriter is the http.ResponseWriter of handlerTransport.
type memoryWriter struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (w *memoryWriter) Header() http.Header { return w.header }

func (w *memoryWriter) WriteHeader(status int) {
	if w.status == 0 {
		w.status = status
	}
}

func (w *memoryWriter) Write(b []byte) (int, error) {
	w.WriteHeader(http.StatusOK)
	return w.body.Write(b)
}
