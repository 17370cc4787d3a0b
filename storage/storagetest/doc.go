// Package storagetest is the conformance suite of Gatehouse's storage
// interfaces, in the manner of testing/fstest: every backend runs it
// (memory and PostgreSQL for storage.Store, memory and Redis for
// storage.TokenState), so that they cannot drift apart. The interfaces'
// doc comments are the specification; the suite pins them down.
package storagetest
