// The account page's script (internal/signin). Changing the password
// sends only what docs/client-side-hashing.md says a client sends: b64u(P)
// of the current password under its salt from prelogin, and a new
// password setting {kdf, iterations, salt, hash, confirmation} derived
// with a fresh salt. The typed passwords have no name, so they are never
// submitted, and they are cleared before the form is sent.
import { loginPassword, newPasswordSetting } from './gatehouse-clienthash.mjs';

const form = document.getElementById('password-form');
const problem = document.getElementById('password-problem');
const status = document.getElementById('password-status');

if (form && problem && status) {
  const button = form.querySelector('button[type="submit"]');
  const typedOld = document.getElementById('current-password');
  const typedNew = document.getElementById('new-password');
  const typedConfirm = document.getElementById('confirm-password');
  const derived = ['old_password', 'kdf', 'iterations', 'salt', 'hash', 'confirmation'].map((n) => form.elements.namedItem(n));
  let sending = false;

  const busy = (on) => {
    sending = on;
    button.disabled = on;
    form.setAttribute('aria-busy', String(on));
    status.classList.toggle('busy', on);
    status.textContent = on ? status.dataset.busy : '';
  };

  const fail = (message, focus) => {
    busy(false);
    for (const field of derived) field.value = '';
    problem.textContent = message;
    problem.hidden = false;
    (focus || problem).focus();
  };

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    if (sending) return;
    problem.hidden = true;
    if (typedNew.value !== typedConfirm.value) {
      fail(problem.dataset.mismatch, typedConfirm);
      return;
    }
    if (!globalThis.crypto || !globalThis.crypto.subtle) {
      fail(problem.dataset.insecure);
      return;
    }
    busy(true);
    let old, setting;
    try {
      const res = await fetch(form.dataset.prelogin, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
        body: JSON.stringify({ username: form.dataset.username }),
        credentials: 'same-origin',
        cache: 'no-store',
      });
      if (!res.ok) throw new Error(`prelogin answered ${res.status}`);
      [old, setting] = await Promise.all([
        loginPassword(typedOld.value, await res.json()),
        newPasswordSetting(typedNew.value, typedConfirm.value, Number(form.dataset.iterations)),
      ]);
    } catch (err) {
      console.warn('password change:', err.message);
      fail(problem.dataset.unreachable);
      return;
    }
    const values = [old, setting.kdf, String(setting.iterations), setting.salt, setting.hash, setting.confirmation];
    derived.forEach((field, i) => { field.value = values[i]; });
    typedOld.value = typedNew.value = typedConfirm.value = '';
    form.submit();
  });

  window.addEventListener('pageshow', (event) => {
    if (event.persisted) {
      busy(false);
      for (const field of derived) field.value = '';
    }
  });
}
