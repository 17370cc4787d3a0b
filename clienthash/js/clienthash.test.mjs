import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as ch from './gatehouse-clienthash.mjs';

const vectors = JSON.parse(readFileSync(fileURLToPath(new URL('../testdata/vectors.json', import.meta.url)), 'utf8'));

test('password vectors', async () => {
  for (const v of vectors.password) {
    const password = Buffer.from(v.password_utf8_hex, 'hex').toString('utf8');
    const p = await ch.loginPassword(password, { kdf: 'pbkdf2-sha256', iterations: v.iterations, salt: v.salt });
    assert.equal(p, v.P, v.note);
  }
});

test('client secret vectors', async () => {
  for (const v of vectors.client_secret) {
    const w = await ch.clientSecretWire(v.S, v.client_id);
    assert.equal(w, v.W, v.client_id);
    assert.equal(await ch.clientSecretVerifier(w), v.V, v.client_id);
  }
});

test('password setting', async () => {
  const s = await ch.newPasswordSetting('pässword', 'pässword', 1000);
  assert.equal(s.kdf, 'pbkdf2-sha256');
  assert.equal(s.hash, s.confirmation);
  assert.equal(s.salt.length, 22);
  assert.equal(await ch.loginPassword('pa\u0308ssword', s), s.hash);
  assert.throws(() => ch.b64uDecode('AA=='));
});
