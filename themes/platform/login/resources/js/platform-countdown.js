// "Send a new code" on platform-reset-code.ftl: disabled while the resend cooldown runs, with the time
// left in the hint under it; enabled (and the hint hidden) when it ends. The wait is not an error.
(() => {
  const button = document.getElementById('platform-resend');
  const hint = document.getElementById('platform-resend-wait');
  let left = Number(button?.dataset.wait ?? 0);
  if (!button || !hint || !(left > 0)) return;
  const clock = (s) => `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
  const timer = setInterval(() => {
    left -= 1;
    if (left > 0) {
      hint.textContent = hint.dataset.template.replace('{0}', clock(left));
      return;
    }
    clearInterval(timer);
    button.disabled = false;
    hint.hidden = true;
  }, 1000);
})();
