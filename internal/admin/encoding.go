package admin

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"github.com/gatehouse/gatehouse/storage"
)

// decode reads exactly one JSON object into dst, rejecting unknown fields,
// trailing data and oversized bodies (the server limits body size).
func decode(r *http.Request, dst any) error {
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/json" {
		return malformed("The request body must be application/json.")
	}
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		var maxErr *http.MaxBytesError
		var typeErr *json.UnmarshalTypeError
		switch {
		case errors.As(err, &maxErr):
			return malformed("The request body is too large.")
		case errors.As(err, &typeErr):
			return invalidField(typeErr.Field, fmt.Sprintf("The field %s has the wrong type.", typeErr.Field))
		}
		return withCause(malformed("The request body is not a valid JSON object of the expected shape: "+jsonProblem(err)), err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return malformed("The request body must hold exactly one JSON object.")
	}
	return nil
}

// jsonProblem describes a decoding error. encoding/json's messages name
// offsets, types and unknown field names, never input values.
func jsonProblem(err error) string {
	var syn *json.SyntaxError
	if errors.As(err, &syn) {
		return "syntax error at offset " + strconv.FormatInt(syn.Offset, 10) + "."
	}
	return strings.TrimPrefix(err.Error(), "json: ") + "."
}

// writeJSON answers status with v.
func writeJSON(w http.ResponseWriter, status int, v any) error {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	return json.NewEncoder(w).Encode(v)
}

// created answers 201 with a Location header and the created resource.
func created(w http.ResponseWriter, location string, v any) error {
	w.Header().Set("Location", location)
	return writeJSON(w, http.StatusCreated, v)
}

// noContent answers 204.
func noContent(w http.ResponseWriter) error {
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// list is the envelope of every list response (openapi.yaml: the *List
// schemas).
type list[T any] struct {
	Items      []T    `json:"items"`
	NextCursor string `json:"next_cursor,omitempty"`
}

// listOptions reads limit and cursor from the query string.
func listOptions(r *http.Request) (storage.ListOptions, error) {
	q := r.URL.Query()
	var o storage.ListOptions
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > storage.MaxListLimit {
			return o, invalidField("limit", fmt.Sprintf("limit must be an integer from 1 to %d.", storage.MaxListLimit))
		}
		o.Limit = n
	}
	o.Cursor = q.Get("cursor")
	if len(o.Cursor) > 512 {
		return o, invalidField("cursor", "cursor is not a cursor this API returned.")
	}
	return o, nil
}

// writeList answers a page in the list envelope, mapping each item.
func writeList[S, T any](w http.ResponseWriter, page storage.Page[S], conv func(S) T) error {
	out := list[T]{Items: make([]T, len(page.Items)), NextCursor: page.NextCursor}
	for i, it := range page.Items {
		out.Items[i] = conv(it)
	}
	return writeJSON(w, http.StatusOK, out)
}
