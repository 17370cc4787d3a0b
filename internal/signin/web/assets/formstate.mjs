// What the pages' password forms share (internal/signin): a busy state
// while the browser derives the password, and a problem report that
// clears every derived field, so that nothing derived is left to submit.
// The forms' scripts (login.mjs, account.mjs, setpassword.mjs) each derive
// what docs/client-side-hashing.md says, then submit.

// formState returns the form's busy(on) and fail(message, focus), and
// resets the form when the page comes back from the back-forward cache.
export function formState(form, status, problem, derived) {
  const button = form.querySelector('button[type="submit"]');
  const state = { sending: false };
  const clear = () => { for (const field of derived) field.value = ''; };

  state.busy = (on) => {
    state.sending = on;
    button.disabled = on;
    form.setAttribute('aria-busy', String(on));
    status.classList.toggle('busy', on);
    status.textContent = on ? status.dataset.busy : '';
  };

  state.fail = (message, focus) => {
    state.busy(false);
    clear();
    problem.textContent = message;
    problem.hidden = false;
    (focus || problem).focus();
  };

  // A page restored from the back-forward cache must not stay disabled
  // or keep a derived value.
  window.addEventListener('pageshow', (event) => {
    if (event.persisted) {
      state.busy(false);
      clear();
    }
  });
  return state;
}
