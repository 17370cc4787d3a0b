// The script of the pages that set a password (activation, password
// reset, accepting an invitation with a new account; internal/signin).
// It derives P and P2 from the password typed twice with one fresh salt,
// as docs/client-side-hashing.md specifies for setting a password, and
// posts only the password object: the typed fields have no name, so they
// are never submitted, and they are cleared before the form is sent. The
// server compares P and P2 and refuses a mismatch.
import { newPasswordSetting } from './gatehouse-clienthash.mjs';
import { formState } from './formstate.mjs';

const form = document.getElementById('setpw-form');
const typed = document.getElementById('new-password');
const again = document.getElementById('confirm-password');
const status = document.getElementById('setpw-status');
const problem = document.getElementById('setpw-problem');

if (form && typed && again && status && problem) {
  const names = ['kdf', 'iterations', 'salt', 'hash', 'confirmation'];
  const derived = names.map((n) => form.elements.namedItem(n));
  const state = formState(form, status, problem, derived);

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    if (state.sending) return;
    problem.hidden = true;
    // WebCrypto exists only in secure contexts (HTTPS or localhost).
    if (!globalThis.crypto || !globalThis.crypto.subtle) {
      state.fail(problem.dataset.insecure);
      return;
    }
    state.busy(true);
    let setting;
    try {
      setting = await newPasswordSetting(typed.value, again.value, Number(form.dataset.iterations));
    } catch (err) {
      console.warn('password:', err.message);
      state.fail(problem.dataset.insecure);
      return;
    }
    const values = [setting.kdf, String(setting.iterations), setting.salt, setting.hash, setting.confirmation];
    derived.forEach((field, i) => { field.value = values[i]; });
    typed.value = again.value = '';
    form.submit();
  });
}
