// Package mailtest is an SMTP server for tests (emersion/go-smtp), on a
// loopback socket: mails reach it through a real SMTP conversation, and
// tests read what arrived, parsed. It can refuse mail for a while, be
// slow, go down and come back on the same address, and speak STARTTLS,
// implicit TLS and AUTH PLAIN.
package mailtest

import (
	"bytes"
	"crypto/tls"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// Message is one mail received.
type Message struct {
	From, To string
	Subject  string
	Language string // the HTML part's <html lang>
	Text     string
	HTML     string
	Raw      string
}

// Options configures a Server.
type Options struct {
	// TLS, when set, offers STARTTLS (or, with Implicit, speaks TLS from
	// the first byte).
	TLS      *tls.Config
	Implicit bool
	// Username and Password, when set, require AUTH PLAIN.
	Username, Password string
}

// Server is a running test SMTP server.
type Server struct {
	t    testing.TB
	o    Options
	addr string

	mu       sync.Mutex
	srv      *smtp.Server
	l        net.Listener
	msgs     []Message
	arrived  chan struct{}
	refuse   int           // refuse this many deliveries with 451
	delay    time.Duration // wait this long before accepting DATA
	attempts int
}

// Start starts a server on a free loopback port; it stops with the test.
func Start(t testing.TB, o Options) *Server {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("mailtest: %v", err)
	}
	s := &Server{t: t, o: o, addr: l.Addr().String(), arrived: make(chan struct{}, 1)}
	s.serve(l)
	t.Cleanup(s.Stop)
	return s
}

// Addr is the server's host:port.
func (s *Server) Addr() string { return s.addr }

// URL is the smtp.url that reaches the server without TLS.
func (s *Server) URL() string { return "smtp://" + s.addr + "?starttls=none" }

func (s *Server) serve(l net.Listener) {
	srv := smtp.NewServer(backend{s})
	srv.Domain = "mailtest.local"
	srv.ReadTimeout, srv.WriteTimeout = 10*time.Second, 10*time.Second
	srv.AllowInsecureAuth = s.o.TLS == nil
	if s.o.TLS != nil {
		srv.TLSConfig = s.o.TLS
		if s.o.Implicit {
			l = tls.NewListener(l, s.o.TLS)
		}
	}
	s.mu.Lock()
	s.srv, s.l = srv, l
	s.mu.Unlock()
	go func() { _ = srv.Serve(l) }()
}

// Stop takes the server down: connections are closed and new ones
// refused until Restart.
func (s *Server) Stop() {
	s.mu.Lock()
	srv, l := s.srv, s.l
	s.srv, s.l = nil, nil
	s.mu.Unlock()
	if srv != nil {
		// The listener too: Serve may not have taken it over yet.
		_ = l.Close()
		_ = srv.Close()
	}
}

// Restart brings a stopped server back on the same address.
func (s *Server) Restart() {
	s.t.Helper()
	var l net.Listener
	var err error
	for range 50 {
		if l, err = net.Listen("tcp", s.addr); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		s.t.Fatalf("mailtest: restart: %v", err)
	}
	s.serve(l)
}

// Refuse makes the next n deliveries fail with a temporary error (451).
func (s *Server) Refuse(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.refuse = n
}

// Slow makes every delivery wait d before its data is accepted.
func (s *Server) Slow(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.delay = d
}

// Attempts counts the deliveries that reached DATA, refused ones too.
func (s *Server) Attempts() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.attempts
}

// Messages returns every mail received so far.
func (s *Server) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Message(nil), s.msgs...)
}

// Wait returns the first mail to to that arrives (or arrived) after the
// first skip mails to to, failing the test after timeout.
func (s *Server) Wait(to string, skip int, timeout time.Duration) Message {
	s.t.Helper()
	deadline := time.After(timeout)
	for {
		n := 0
		for _, m := range s.Messages() {
			if strings.EqualFold(m.To, to) {
				if n == skip {
					return m
				}
				n++
			}
		}
		select {
		case <-s.arrived:
		case <-time.After(50 * time.Millisecond):
		case <-deadline:
			s.t.Fatalf("mailtest: no mail #%d to %s within %s (%d received in all)", skip+1, to, timeout, len(s.Messages()))
		}
	}
}

// Count returns how many mails to to arrived.
func (s *Server) Count(to string) int {
	n := 0
	for _, m := range s.Messages() {
		if strings.EqualFold(m.To, to) {
			n++
		}
	}
	return n
}

type backend struct{ s *Server }

func (b backend) NewSession(*smtp.Conn) (smtp.Session, error) { return &session{s: b.s}, nil }

type session struct {
	s        *Server
	from, to string
	authed   bool
}

func (ss *session) AuthMechanisms() []string {
	if ss.s.o.Username == "" {
		return nil
	}
	return []string{sasl.Plain}
}

func (ss *session) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, user, pass string) error {
		if user != ss.s.o.Username || pass != ss.s.o.Password {
			return errors.New("invalid credentials")
		}
		ss.authed = true
		return nil
	}), nil
}

func (ss *session) Mail(from string, _ *smtp.MailOptions) error {
	if ss.s.o.Username != "" && !ss.authed {
		return smtp.ErrAuthRequired
	}
	ss.from = from
	return nil
}

func (ss *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	ss.to = to
	return nil
}

func (ss *session) Data(r io.Reader) error {
	raw, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s := ss.s
	s.mu.Lock()
	s.attempts++
	delay := s.delay
	refuse := s.refuse > 0
	if refuse {
		s.refuse--
	}
	s.mu.Unlock()
	time.Sleep(delay)
	if refuse {
		return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "try again later"}
	}
	m, err := parse(raw)
	if err != nil {
		s.t.Errorf("mailtest: unparsable mail: %v", err)
		return err
	}
	m.From, m.To = ss.from, ss.to
	s.mu.Lock()
	s.msgs = append(s.msgs, m)
	s.mu.Unlock()
	select {
	case s.arrived <- struct{}{}:
	default:
	}
	return nil
}

func (ss *session) Reset()        {}
func (ss *session) Logout() error { return nil }

// parse reads a mail's subject and its text and HTML parts.
func parse(raw []byte) (Message, error) {
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		return Message{}, err
	}
	var dec mime.WordDecoder
	subject, err := dec.DecodeHeader(msg.Header.Get("Subject"))
	if err != nil {
		return Message{}, err
	}
	m := Message{Subject: subject, Raw: string(raw)}
	if err := walk(msg.Header.Get("Content-Type"), msg.Header.Get("Content-Transfer-Encoding"), msg.Body, &m); err != nil {
		return Message{}, err
	}
	if i := strings.Index(m.HTML, `<html lang="`); i >= 0 {
		rest := m.HTML[i+len(`<html lang="`):]
		m.Language = rest[:strings.IndexByte(rest, '"')]
	}
	return m, nil
}

func walk(ctype, encoding string, body io.Reader, m *Message) error {
	mt, params, err := mime.ParseMediaType(ctype)
	if err != nil {
		return err
	}
	if strings.HasPrefix(mt, "multipart/") {
		mr := multipart.NewReader(body, params["boundary"])
		for {
			p, err := mr.NextRawPart()
			if err == io.EOF {
				return nil
			} else if err != nil {
				return err
			}
			if err := walk(p.Header.Get("Content-Type"), p.Header.Get("Content-Transfer-Encoding"), p, m); err != nil {
				return err
			}
		}
	}
	var r io.Reader = body
	switch strings.ToLower(encoding) {
	case "quoted-printable":
		r = quotedprintable.NewReader(body)
	case "base64":
		r = newBase64Reader(body)
	}
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	switch mt {
	case "text/plain":
		m.Text = string(b)
	case "text/html":
		m.HTML = string(b)
	}
	return nil
}
