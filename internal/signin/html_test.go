package signin_test

import (
	"strings"
	"testing"

	"golang.org/x/net/html"
)

// doc is a parsed page with the queries the tests need.
type doc struct {
	t    *testing.T
	root *html.Node
}

func parseDoc(t *testing.T, body string) *doc {
	t.Helper()
	n, err := html.Parse(strings.NewReader(body))
	if err != nil {
		t.Fatalf("parse page: %v", err)
	}
	return &doc{t: t, root: n}
}

// all returns the elements named tag (any tag if empty) whose attributes
// include every key=value in attrs; a value of "*" asks only for presence.
func (d *doc) all(tag string, attrs ...string) []*html.Node {
	var out []*html.Node
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode && (tag == "" || n.Data == tag) && hasAttrs(n, attrs) {
			out = append(out, n)
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(d.root)
	return out
}

// one returns the only element matching, failing the test otherwise.
func (d *doc) one(tag string, attrs ...string) *html.Node {
	d.t.Helper()
	ns := d.all(tag, attrs...)
	if len(ns) != 1 {
		d.t.Fatalf("want exactly one <%s %v>, found %d", tag, attrs, len(ns))
	}
	return ns[0]
}

func hasAttrs(n *html.Node, attrs []string) bool {
	for i := 0; i+1 < len(attrs); i += 2 {
		v, ok := attr(n, attrs[i])
		if !ok || (attrs[i+1] != "*" && v != attrs[i+1]) {
			return false
		}
	}
	return true
}

func attr(n *html.Node, key string) (string, bool) {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val, true
		}
	}
	return "", false
}

// text returns the text content of n, whitespace collapsed.
func text(n *html.Node) string {
	var b strings.Builder
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.TextNode {
			b.WriteString(n.Data)
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(n)
	return strings.Join(strings.Fields(b.String()), " ")
}

// lang returns the page's <html lang>.
func (d *doc) lang() string {
	v, _ := attr(d.one("html"), "lang")
	return v
}

// alert returns the text of the role=alert elements that are shown.
func (d *doc) alert() string {
	var parts []string
	for _, n := range d.all("", "role", "alert") {
		if _, hidden := attr(n, "hidden"); !hidden {
			parts = append(parts, text(n))
		}
	}
	return strings.Join(parts, " | ")
}
