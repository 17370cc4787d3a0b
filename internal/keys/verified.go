package keys

import "sync"

// verifiedBudget bounds the memory of a key set's verification memo (see
// entrySize). At Gatehouse's ~800 bytes a token that is some 8,000 tokens.
const verifiedBudget = 16 << 20

// entrySize is what an entry is charged: the token and payload bytes, as
// much again for the decoded claims VerifyDecoded may add later (a decoded
// JSON object takes about its encoded size), and the map's overhead.
func entrySize(token string, payload []byte) int { return len(token) + 2*len(payload) + 128 }

// maxVerifiedToken keeps unusually large tokens out of the memo; they are
// verified every time.
const maxVerifiedToken = 4 << 10

// verifiedTokens memoizes successful verifications under one key set. A
// resource server introspecting the same token on every call it serves,
// or an admin client reusing its token, then pays for the signature check
// once. The memo holds only tokens that verified, keyed by the whole
// token, so a hit is exactly the same bytes that verified before; it lives
// and dies with its key set, so a key that is no longer published takes
// its tokens with it. Claims (expiry included) are the caller's to check
// on every use, cached or not.
type verifiedTokens struct {
	mu      sync.RWMutex
	entries map[string]verifiedToken
	bytes   int
}

type verifiedToken struct {
	typ     string
	payload []byte
	decoded any // VerifyDecoded's result, once asked for
}

func (v *verifiedTokens) get(token, typ string) (verifiedToken, bool) {
	v.mu.RLock()
	e, ok := v.entries[token]
	v.mu.RUnlock()
	if !ok || e.typ != typ {
		return verifiedToken{}, false
	}
	return e, true
}

// setDecoded records the decoded payload of a remembered token.
func (v *verifiedTokens) setDecoded(token, typ string, decoded any) {
	v.mu.Lock()
	if e, ok := v.entries[token]; ok && e.typ == typ {
		e.decoded = decoded
		v.entries[token] = e
	}
	v.mu.Unlock()
}

func (v *verifiedTokens) put(token, typ string, payload []byte) {
	size := entrySize(token, payload)
	if len(token) > maxVerifiedToken {
		return
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.entries == nil {
		v.entries = make(map[string]verifiedToken)
	}
	if _, ok := v.entries[token]; ok {
		return
	}
	// Over budget, drop entries in map order, which is as good as random
	// here: no token can keep itself in, and the work per insert is small.
	for k, e := range v.entries {
		if v.bytes+size <= verifiedBudget {
			break
		}
		delete(v.entries, k)
		v.bytes -= entrySize(k, e.payload)
	}
	v.entries[token] = verifiedToken{typ: typ, payload: payload}
	v.bytes += size
}
