// The filters above a map: the week slider names its week while it is dragged
// and applies it when let go; on a narrow screen they start folded; the report's print button prints the page.
(function () {
  var form = document.getElementById('map-filters');
  var week = document.getElementById('week');
  var label = document.getElementById('week-label');
  // On a phone the filters fold (open in the markup, so usable without script) and the map starts on screen.
  var fold = document.getElementById('map-filters-fold');
  if (fold && !window.matchMedia('(min-width: 600px)').matches) fold.open = false;
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
