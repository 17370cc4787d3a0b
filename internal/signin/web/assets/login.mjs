// The login page's script (internal/signin). It derives
// P = PBKDF2-HMAC-SHA256(NFC(password), salt, iterations) with WebCrypto
// from prelogin's answer, as docs/client-side-hashing.md specifies, and
// posts only b64u(P): the typed password has no name, so it is never
// submitted, and it is cleared before the form is sent.
import { loginPassword } from './gatehouse-clienthash.mjs';
import { formState } from './formstate.mjs';

const form = document.getElementById('login-form');
const typed = document.getElementById('current-password');
const status = document.getElementById('login-status');
const problem = document.getElementById('login-problem');

if (form && typed && status && problem) {
  const wire = form.elements.namedItem('password');
  const username = form.elements.namedItem('username');
  const state = formState(form, status, problem, [wire]);
  const { busy, fail } = state;

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    if (state.sending) return;
    problem.hidden = true;
    // WebCrypto exists only in secure contexts (HTTPS or localhost).
    if (!globalThis.crypto || !globalThis.crypto.subtle) {
      fail(problem.dataset.insecure);
      return;
    }
    busy(true);
    let wireValue;
    try {
      const res = await fetch(form.dataset.prelogin, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
        body: JSON.stringify({ username: username.value }),
        credentials: 'same-origin',
        cache: 'no-store',
      });
      if (!res.ok) throw new Error(`prelogin answered ${res.status}`);
      wireValue = await loginPassword(typed.value, await res.json());
    } catch (err) {
      console.warn('sign-in:', err.message);
      fail(problem.dataset.unreachable);
      return;
    }
    wire.value = wireValue;
    typed.value = '';
    // submit() sends the form without firing this handler again.
    form.submit();
  });
}
