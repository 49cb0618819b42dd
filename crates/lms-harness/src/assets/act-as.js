document.addEventListener('DOMContentLoaded', () => {
  const s = document.getElementById('act-as');
  if (s) s.addEventListener('change', () => s.form.requestSubmit());
});
