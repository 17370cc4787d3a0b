// The script of the pages that set a password (activation, password
// reset, accepting an invitation with a new account; internal/signin).
// It derives P and P2 from the password typed twice with one fresh salt,
// as docs/client-side-hashing.md specifies for setting a password, and
// posts only the password object: the typed fields have no name, so they
// are never submitted, and they are cleared before the form is sent. The
// server compares P and P2 and refuses a mismatch.
import { newPasswordSetting } from './gatehouse-clienthash.mjs';

const form = document.getElementById('setpw-form');
const typed = document.getElementById('new-password');
const again = document.getElementById('confirm-password');
const status = document.getElementById('setpw-status');
const problem = document.getElementById('setpw-problem');

if (form && typed && again && status && problem) {
  const button = form.querySelector('button[type="submit"]');
  const fields = ['kdf', 'iterations', 'salt', 'hash', 'confirmation'].map((n) => form.elements.namedItem(n));
  let sending = false;

  const busy = (on) => {
    sending = on;
    button.disabled = on;
    form.setAttribute('aria-busy', String(on));
    status.classList.toggle('busy', on);
    status.textContent = on ? status.dataset.busy : '';
  };
  const clear = () => fields.forEach((f) => { f.value = ''; });

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    if (sending) return;
    problem.hidden = true;
    if (!globalThis.crypto || !globalThis.crypto.subtle) {
      problem.textContent = problem.dataset.insecure;
      problem.hidden = false;
      problem.focus();
      return;
    }
    busy(true);
    let setting;
    try {
      setting = await newPasswordSetting(typed.value, again.value, Number(form.dataset.iterations));
    } catch (err) {
      console.warn('password:', err.message);
      busy(false);
      clear();
      problem.textContent = problem.dataset.insecure;
      problem.hidden = false;
      problem.focus();
      return;
    }
    form.elements.namedItem('kdf').value = setting.kdf;
    form.elements.namedItem('iterations').value = String(setting.iterations);
    form.elements.namedItem('salt').value = setting.salt;
    form.elements.namedItem('hash').value = setting.hash;
    form.elements.namedItem('confirmation').value = setting.confirmation;
    typed.value = '';
    again.value = '';
    form.submit();
  });

  window.addEventListener('pageshow', (event) => {
    if (event.persisted) {
      busy(false);
      clear();
    }
  });
}
