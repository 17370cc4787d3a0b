package postgres

import (
	"context"
	"errors"
	"fmt"
	"net"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/gatehouse/gatehouse/storage"
)

// mapErr maps a PostgreSQL error to a storage sentinel, naming what. This
// is the one place where SQL errors become storage errors. onDelete says
// whether a foreign-key violation means "still referenced" (a delete) or
// "references something missing" (an insert or update).
func mapErr(err error, what string, onDelete bool) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("%s: %w", what, storage.ErrNotFound)
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch pgErr.Code {
		case "23505": // unique_violation
			return fmt.Errorf("%s: %w", what, storage.ErrAlreadyExists)
		case "23503": // foreign_key_violation
			if onDelete {
				return fmt.Errorf("%s: %w", what, storage.ErrInUse)
			}
			return fmt.Errorf("%s (%s): %w", what, pgErr.ConstraintName, storage.ErrMissingReference)
		case "22P02": // invalid_text_representation, e.g. a malformed uuid
			return fmt.Errorf("%s: %w", what, storage.ErrNotFound)
		case "22021": // character_not_in_repertoire: a NUL byte or invalid UTF-8, which no text column holds
			return fmt.Errorf("%s: %w", what, storage.ErrNotFound)
		}
		return fmt.Errorf("%s: postgres %s: %s", what, pgErr.Code, pgErr.Message)
	}
	var netErr net.Error
	var connErr *pgconn.ConnectError
	if errors.As(err, &connErr) || errors.As(err, &netErr) || pgconn.SafeToRetry(err) ||
		errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("%s: %w: %v", what, storage.ErrUnavailable, err)
	}
	return fmt.Errorf("%s: %w", what, err)
}

// needsMapping reports whether err comes from PostgreSQL or the network
// and carries no storage sentinel yet. Errors of a caller's update
// function pass through as they are.
func needsMapping(err error) bool {
	for _, sentinel := range []error{storage.ErrNotFound, storage.ErrAlreadyExists, storage.ErrMissingReference, storage.ErrInUse, storage.ErrUnavailable, storage.ErrHierarchy} {
		if errors.Is(err, sentinel) {
			return false
		}
	}
	var pgErr *pgconn.PgError
	var netErr net.Error
	var connErr *pgconn.ConnectError
	return errors.As(err, &pgErr) || errors.As(err, &netErr) || errors.As(err, &connErr) ||
		pgconn.SafeToRetry(err) || errors.Is(err, context.DeadlineExceeded)
}

// errorf wraps a sentinel with what it is about.
func errorf(what string, sentinel error) error { return fmt.Errorf("%s: %w", what, sentinel) }

// missingRef turns "not found" of a referenced entity into
// ErrMissingReference.
func missingRef(err error, what string) error {
	if errors.Is(err, storage.ErrNotFound) {
		return errorf(what, storage.ErrMissingReference)
	}
	return err
}
