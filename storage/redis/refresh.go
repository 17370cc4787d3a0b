package redis

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/gatehouse/gatehouse/storage"
)

// A refresh record is one compact string, fields separated by US (0x1f):
// family, client_id, user id, iat (µs, compared against marks; ms in
// records written before, see legacyMillisBelow), exp (ms), secret digest,
// previous secret digest, scopes.
// A string costs far less Redis memory than a hash of the same fields.
// There is one per live grant: rotation rewrites it in place.
const sep = "\x1f"

func encodeRecord(r storage.RefreshToken) string {
	return strings.Join([]string{r.FamilyID, r.ClientID, r.UserID,
		strconv.FormatInt(r.IssuedAt.UnixMicro(), 10), strconv.FormatInt(r.ExpiresAt.UnixMilli(), 10),
		r.Secret, r.PrevSecret, strings.Join(r.Scopes, " ")}, sep)
}

func decodeRecord(id, v string) (storage.RefreshToken, error) {
	f := strings.Split(v, sep)
	if len(f) != 8 {
		return storage.RefreshToken{}, fmt.Errorf("corrupt refresh record")
	}
	iat, err1 := strconv.ParseInt(f[3], 10, 64)
	exp, err2 := strconv.ParseInt(f[4], 10, 64)
	if err1 != nil || err2 != nil {
		return storage.RefreshToken{}, fmt.Errorf("corrupt refresh record")
	}
	r := storage.RefreshToken{ID: id, FamilyID: f[0], ClientID: f[1], UserID: f[2],
		IssuedAt: issuedAt(iat), ExpiresAt: time.UnixMilli(exp), Secret: f[5], PrevSecret: f[6], Scopes: []string{}}
	if f[7] != "" {
		r.Scopes = strings.Split(f[7], " ")
	}
	return r, nil
}

// issuedAt reads a record's iat, see legacyMillisBelow.
func issuedAt(v int64) time.Time {
	if v < legacyMillisBelow {
		return time.UnixMilli(v)
	}
	return time.UnixMicro(v)
}

// Redis Cluster runs a script only if every key it touches is declared
// and all are in one slot, and a record's family mark and its user's and
// client's marks are each in a slot of their own (IsRevoked reads them
// for access tokens without knowing any record). So the record is read
// first, the marks of what it names are read next, and the change is a
// compare-and-set of the record alone: it applies only if the record is
// still what was read and decided on.

// casScript replaces KEYS[1] with ARGV[2], expiring at ARGV[3] (Unix ms),
// if it still holds ARGV[1]. Returns 1 when it did.
var casScript = goredis.NewScript(`
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[2], 'PXAT', ARGV[3])
return 1`)

// casAttempts bounds the rotations retried because the record changed
// between its read and its compare-and-set: a concurrent rotation of the
// same grant, whose loser then meets the previous secret or a reuse.
const casAttempts = 3

// familyKeep is how long a family's revocation is kept: as long as the
// longest-lived access token issued with it.
var familyKeep = storage.MaxAccessTokenTTL.Milliseconds()

func (s *TokenState) recordKey(id string) string { return s.prefix + "t:" + id }

// familyIndexKey names the record of a family, for RevokeFamily: the
// family id is all that a login session or an authorization code knows
// of a grant, and the family's mark alone would let the record live
// again after storage.MaxAccessTokenTTL. It expires with the record.
// Records written before it existed have none; RevokeFamily still
// revokes their access tokens and, for the mark's lifetime, the record.
func (s *TokenState) familyIndexKey(familyID string) string { return s.prefix + "g:" + familyID }

// CreateRefreshToken implements storage.TokenState. The record and its
// family's index are two keys in two hash slots, written in one pipeline
// rather than one script. When the record's id is taken, the index may
// be overwritten with that id: RevokeFamily deletes a record only if it
// is of the family.
func (s *TokenState) CreateRefreshToken(ctx context.Context, rec storage.RefreshToken) error {
	var set *goredis.StatusCmd
	_, err := s.rdb.Pipelined(ctx, func(p goredis.Pipeliner) error {
		set = s.queueRecord(ctx, p, rec)
		return nil
	})
	if _, err := recordCreated(set); err != nil {
		return err
	}
	if err != nil {
		return unavailable("create refresh token", err)
	}
	return nil
}

// queueRecord queues the writes of CreateRefreshToken on p and returns
// the record's, for recordCreated.
func (s *TokenState) queueRecord(ctx context.Context, p goredis.Pipeliner, rec storage.RefreshToken) *goredis.StatusCmd {
	set := p.SetArgs(ctx, s.recordKey(rec.ID), encodeRecord(rec), goredis.SetArgs{Mode: "NX", ExpireAt: rec.ExpiresAt})
	p.SetArgs(ctx, s.familyIndexKey(rec.FamilyID), rec.ID, goredis.SetArgs{ExpireAt: rec.ExpiresAt})
	return set
}

// recordCreated reads the answer to queueRecord's SET: true when it
// wrote the record, ErrAlreadyExists when the id was taken; any other
// failure is left to the caller, which reads the pipeline's error.
func recordCreated(set *goredis.StatusCmd) (bool, error) {
	ok, err := set.Result()
	if isNil(err) || (err == nil && ok != "OK") {
		return false, fmt.Errorf("refresh token: %w", storage.ErrAlreadyExists)
	}
	return err == nil, nil
}

// readRecord returns record id and its raw value, ErrNotFound when
// there is none or it is unreadable.
func (s *TokenState) readRecord(ctx context.Context, id string) (storage.RefreshToken, string, error) {
	v, err := s.rdb.Get(ctx, s.recordKey(id)).Result()
	if isNil(err) {
		return storage.RefreshToken{}, "", fmt.Errorf("refresh token: %w", storage.ErrNotFound)
	}
	if err != nil {
		return storage.RefreshToken{}, "", err
	}
	rec, err := decodeRecord(id, v)
	if err != nil {
		return storage.RefreshToken{}, "", fmt.Errorf("refresh token: %w", storage.ErrNotFound)
	}
	return rec, v, nil
}

// dead reports whether a record's family was revoked, or a "revoked
// before" mark on its user or client covers it: one read of the three
// marks.
func (s *TokenState) dead(ctx context.Context, rec storage.RefreshToken) (bool, error) {
	keys := []string{s.prefix + "f:" + rec.FamilyID, s.markKey(storage.SubjectClient, rec.ClientID)}
	if rec.UserID != "" {
		keys = append(keys, s.markKey(storage.SubjectUser, rec.UserID))
	}
	vals, err := s.reads.mget(ctx, keys)
	if err != nil {
		return false, err
	}
	if vals[0] != nil {
		return true, nil
	}
	return covered(vals[1:], rec.IssuedAt.UnixMicro())
}

// GetRefreshToken implements storage.TokenState: the record, then its
// marks.
func (s *TokenState) GetRefreshToken(ctx context.Context, id, secret string) (storage.RefreshToken, error) {
	rec, _, err := s.readRecord(ctx, id)
	if errors.Is(err, storage.ErrNotFound) {
		return storage.RefreshToken{}, err
	}
	if err != nil {
		return storage.RefreshToken{}, unavailable("get refresh token", err)
	}
	dead, err := s.dead(ctx, rec)
	if err != nil {
		return storage.RefreshToken{}, unavailable("get refresh token", err)
	}
	if dead || subtle.ConstantTimeCompare([]byte(rec.Secret), []byte(secret)) != 1 {
		return storage.RefreshToken{}, fmt.Errorf("refresh token: %w", storage.ErrNotFound)
	}
	return rec, nil
}

// RotateRefreshToken implements storage.TokenState: the record, its
// marks, then a compare-and-set of the record (retried if a concurrent
// rotation changed it meanwhile). A mark written between the marks' read
// and the compare-and-set does not stop the rotation, as it would not
// have if it came a moment later: a mark revokes by issue time, and the
// rotated record carries next.IssuedAt, so the mark still kills it if
// next.IssuedAt is at or before the mark's instant. A family revoked
// meanwhile deletes the record after its mark (RevokeFamily), and the
// mark kills the family's access tokens. The secret comparisons need not
// be constant-time: only holders of the family's tokens know the handle,
// and their first wrong secret ends the family, so there is nothing to
// time.
func (s *TokenState) RotateRefreshToken(ctx context.Context, id, secret string, next storage.RefreshToken) (storage.RefreshToken, error) {
	for range casAttempts {
		rec, v, err := s.readRecord(ctx, id)
		if errors.Is(err, storage.ErrNotFound) {
			return storage.RefreshToken{}, err
		}
		if err != nil {
			return storage.RefreshToken{}, unavailable("rotate refresh token", err)
		}
		if rec.ClientID != next.ClientID {
			return storage.RefreshToken{}, fmt.Errorf("refresh token: %w", storage.ErrNotFound)
		}
		dead, err := s.dead(ctx, rec)
		if err != nil {
			return storage.RefreshToken{}, unavailable("rotate refresh token", err)
		}
		if dead {
			return storage.RefreshToken{}, fmt.Errorf("refresh token: %w", storage.ErrNotFound)
		}
		if rec.Secret != secret {
			if rec.PrevSecret != "" && rec.PrevSecret == secret && next.IssuedAt.UnixMicro() < rec.IssuedAt.UnixMicro()+storage.RefreshReuseGrace.Microseconds() {
				return storage.RefreshToken{}, fmt.Errorf("refresh token: %w", storage.ErrNotFound)
			}
			// A reuse. Decided on what was read: if a rotation changed
			// the record since, the family is revoked all the same,
			// which fails closed.
			if err := s.revokeFamilyRecord(ctx, rec.FamilyID, id); err != nil {
				return storage.RefreshToken{}, unavailable("rotate refresh token", err)
			}
			return storage.RefreshToken{}, fmt.Errorf("refresh token: %w", storage.ErrRefreshReused)
		}
		// The family's index lives as long as the record (see
		// familyIndexKey); moved first, so that it never expires before.
		if err := s.rdb.PExpireAt(ctx, s.familyIndexKey(rec.FamilyID), next.ExpiresAt).Err(); err != nil {
			return storage.RefreshToken{}, unavailable("rotate refresh token", err)
		}
		rotated := rec
		rotated.IssuedAt, rotated.ExpiresAt, rotated.Secret, rotated.PrevSecret = next.IssuedAt, next.ExpiresAt, next.Secret, rec.Secret
		set, err := s.durableScript(ctx, casScript, []string{s.recordKey(id)}, v, encodeRecord(rotated), next.ExpiresAt.UnixMilli()).Int()
		if err != nil {
			return storage.RefreshToken{}, unavailable("rotate refresh token", err)
		}
		if set == 1 {
			return rec, nil
		}
	}
	return storage.RefreshToken{}, unavailable("rotate refresh token", errors.New("the record kept changing"))
}

// RevokeRefreshToken implements storage.TokenState.
func (s *TokenState) RevokeRefreshToken(ctx context.Context, id string) error {
	rec, _, err := s.readRecord(ctx, id)
	if errors.Is(err, storage.ErrNotFound) {
		return nil
	}
	if err == nil {
		err = s.revokeFamilyRecord(ctx, rec.FamilyID, id)
	}
	if err != nil {
		return unavailable("revoke refresh token", err)
	}
	return nil
}

// revokeRecordScript deletes KEYS[1] if it is a record of family ARGV[1].
var revokeRecordScript = goredis.NewScript(`
local v = redis.call('GET', KEYS[1])
if not v then return 0 end
if string.match(v, '^([^\31]*)\31') ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1])
return 1`)

// revokeFamilyRecord revokes family fam and deletes its record id: the
// mark first, which kills the record and the family's access tokens at
// once (so a failure after it fails closed), then the record, so that it
// stays dead after the mark expires.
func (s *TokenState) revokeFamilyRecord(ctx context.Context, fam, id string) error {
	if err := s.markFamily(ctx, fam); err != nil {
		return err
	}
	return s.durableScript(ctx, revokeRecordScript, []string{s.recordKey(id)}, fam).Err()
}

func (s *TokenState) markFamily(ctx context.Context, fam string) error {
	key := s.prefix + "f:" + fam
	return s.durable(ctx, key, func(p goredis.Pipeliner) { p.Set(ctx, key, "1", time.Duration(familyKeep)*time.Millisecond) })
}

// RevokeFamily implements storage.TokenState: the family's mark (which
// kills its record and access tokens at once), a read of its index, then
// the record's deletion and the index's. Each command has one key.
func (s *TokenState) RevokeFamily(ctx context.Context, familyID string) error {
	if err := s.markFamily(ctx, familyID); err != nil {
		return unavailable("revoke family", err)
	}
	id, err := s.rdb.Get(ctx, s.familyIndexKey(familyID)).Result()
	if isNil(err) {
		return nil // no record to delete: the mark is all
	}
	if err == nil {
		err = s.durableScript(ctx, revokeRecordScript, []string{s.recordKey(id)}, familyID).Err()
	}
	if err == nil {
		err = s.rdb.Del(ctx, s.familyIndexKey(familyID)).Err()
	}
	if err != nil && !isNil(err) {
		return unavailable("revoke family", err)
	}
	return nil
}
