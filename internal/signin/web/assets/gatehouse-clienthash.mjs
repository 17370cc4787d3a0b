// Gatehouse client-side hashing for browsers and Node >= 20, with WebCrypto
// only. The specification is docs/client-side-hashing.md; the Go package
// github.com/gatehouse/gatehouse/clienthash implements the same scheme.

const subtle = globalThis.crypto.subtle;
const enc = new TextEncoder();

export const KDF = 'pbkdf2-sha256';
export const DEFAULT_ITERATIONS = 600000;
export const SECRET_PREFIX = 'gatehouse-client-secret-v1:';

export function b64uEncode(bytes) {
  let bin = '';
  for (const b of new Uint8Array(bytes)) bin += String.fromCharCode(b);
  return btoa(bin).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

export function b64uDecode(s) {
  if (!/^[A-Za-z0-9_-]*$/.test(s)) throw new Error('not base64url without padding');
  const bin = atob(s.replace(/-/g, '+').replace(/_/g, '/') + '='.repeat((4 - (s.length % 4)) % 4));
  return Uint8Array.from(bin, (c) => c.charCodeAt(0));
}

// derivePassword returns P: PBKDF2-HMAC-SHA256 over the NFC-normalised
// password, 32 bytes.
export async function derivePassword(password, salt, iterations) {
  const key = await subtle.importKey('raw', enc.encode(password.normalize('NFC')), 'PBKDF2', false, ['deriveBits']);
  const bits = await subtle.deriveBits({ name: 'PBKDF2', hash: 'SHA-256', salt, iterations }, key, 256);
  return new Uint8Array(bits);
}

// newPasswordSetting returns the object sent when a password is set.
export async function newPasswordSetting(password, confirmation, iterations = DEFAULT_ITERATIONS) {
  const salt = globalThis.crypto.getRandomValues(new Uint8Array(16));
  const [p, p2] = await Promise.all([derivePassword(password, salt, iterations), derivePassword(confirmation, salt, iterations)]);
  return { kdf: KDF, iterations, salt: b64uEncode(salt), hash: b64uEncode(p), confirmation: b64uEncode(p2) };
}

// loginPassword returns b64u(P) for the password grant, from the prelogin
// answer {kdf, iterations, salt}.
export async function loginPassword(password, { kdf, iterations, salt }) {
  if (kdf !== KDF) throw new Error(`unsupported kdf ${kdf}`);
  return b64uEncode(await derivePassword(password, b64uDecode(salt), iterations));
}

// newClientSecret returns a fresh secret S as b64u.
export function newClientSecret() {
  return b64uEncode(globalThis.crypto.getRandomValues(new Uint8Array(32)));
}

// clientSecretWire returns b64u(W), what is sent as client_secret.
export async function clientSecretWire(sB64u, clientId) {
  const key = await subtle.importKey('raw', b64uDecode(sB64u), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
  return b64uEncode(await subtle.sign('HMAC', key, enc.encode(SECRET_PREFIX + clientId)));
}

// clientSecretVerifier returns b64u(V) = b64u(SHA-256(W)) over W's bytes.
export async function clientSecretVerifier(wB64u) {
  return b64uEncode(await subtle.digest('SHA-256', b64uDecode(wB64u)));
}
