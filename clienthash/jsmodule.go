package clienthash

import _ "embed" // for JSModule

// JSModule is the scheme implemented in JavaScript for browsers and Node
// (js/gatehouse-clienthash.mjs, WebCrypto only), for Gatehouse's own pages
// and anyone else who serves it: one file, tested against the same
// vectors as this package, so that the two cannot drift apart.
//
//go:embed js/gatehouse-clienthash.mjs
var JSModule []byte
