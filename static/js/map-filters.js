// The filters above a map: the week slider names its week while it is dragged
// and applies it when let go; the report's print button prints the page.
(function () {
  var form = document.getElementById('map-filters');
  var week = document.getElementById('week');
  var label = document.getElementById('week-label');
  if (form && week) {
    week.addEventListener('input', function () {
      label.textContent = week.dataset.label.replace('{n}', week.value);
    });
    week.addEventListener('change', function () {
      week.removeAttribute('data-unset');
      form.submit();
    });
    // Without a chosen week the slider must not narrow the period.
    form.addEventListener('submit', function () {
      if (week.dataset.unset) week.disabled = true;
    });
  }
  var print = document.getElementById('print-report');
  if (print) print.addEventListener('click', function () { window.print(); });
})();
