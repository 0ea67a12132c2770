/*
 * Have Your Say - progressive enhancement.
 * The site works fully without this file. Loaded with `defer`; CSP script-src 'self'.
 *
 * Character count: for each .hys-character-count holding a textarea[data-maxlength],
 * keep .hys-character-count__message up to date ("You have 123 characters remaining" /
 * "You have 5 characters too many"). Screen readers hear the count through a separate
 * visually hidden aria-live="polite" region, updated once typing pauses, so that
 * they are not interrupted on every keystroke.
 *
 * Live results: a region with data-live="URL" (the results pages' figures) listens to that server-sent
 * events stream and, on each "figures" event after the first (which repeats what the page already shows),
 * replaces its content with the figures the server rendered. Open <details> and the focused control are kept;
 * screen readers hear "The figures were updated" at most every 30 seconds. Without JavaScript the page is
 * complete and a refresh shows the latest figures.
 */
(function () {
  'use strict';

  var ANNOUNCE_DELAY_MS = 1000;

  // Count Unicode code points, as the server does (Rust chars().count()).
  function characterCount(text) {
    return Array.from(text).length;
  }

  function plural(n, word) {
    return n === 1 ? word : word + 's';
  }

  function countMessage(remaining) {
    if (remaining >= 0) {
      return 'You have ' + remaining + ' ' + plural(remaining, 'character') + ' remaining';
    }
    var over = -remaining;
    return 'You have ' + over + ' ' + plural(over, 'character') + ' too many';
  }

  function initCharacterCount(wrapper) {
    var textarea = wrapper.querySelector('textarea[data-maxlength]');
    var message = wrapper.querySelector('.hys-character-count__message');
    if (!textarea || !message || wrapper.hasAttribute('data-hys-initialised')) {
      return;
    }
    var max = parseInt(textarea.getAttribute('data-maxlength'), 10);
    if (!(max > 0)) {
      return;
    }
    wrapper.setAttribute('data-hys-initialised', '');

    var status = document.createElement('div');
    status.className = 'hys-character-count__status hys-visually-hidden';
    status.setAttribute('aria-live', 'polite');
    message.parentNode.insertBefore(status, message.nextSibling);

    // Keep an error border the server rendered; only add/remove our own.
    var serverError = textarea.classList.contains('hys-textarea--error');
    var timer = null;
    var lastAnnounced = null;

    function currentText() {
      return countMessage(max - characterCount(textarea.value));
    }

    function update() {
      var remaining = max - characterCount(textarea.value);
      var over = remaining < 0;
      message.textContent = countMessage(remaining);
      message.classList.toggle('hys-character-count__message--error', over);
      if (!serverError) {
        textarea.classList.toggle('hys-textarea--error', over);
      }
    }

    function announce() {
      var text = currentText();
      if (text !== lastAnnounced) {
        status.textContent = text;
        lastAnnounced = text;
      }
    }

    textarea.addEventListener('input', function () {
      update();
      window.clearTimeout(timer);
      timer = window.setTimeout(announce, ANNOUNCE_DELAY_MS);
    });

    // Values restored by the browser (back/forward cache, form restore).
    window.addEventListener('pageshow', update);

    update();
    lastAnnounced = currentText(); // do not announce on page load
  }

  var LIVE_ANNOUNCE_MS = 30000;

  // What identifies a focusable element across a re-render of the region.
  function signature(el) {
    return [el.tagName, el.getAttribute('href'), el.getAttribute('aria-label'), el.id].join('|');
  }

  function initLive(region) {
    var url = region.getAttribute('data-live');
    if (!url || !('EventSource' in window)) {
      return;
    }
    var status = document.getElementById('hys-live-status');
    var source = new EventSource(url);
    var first = true;
    var announced = 0;
    source.addEventListener('figures', function (event) {
      if (first) {
        first = false;
        return;
      }
      var open = [];
      var details = region.querySelectorAll('details');
      for (var i = 0; i < details.length; i++) {
        open.push(details[i].open);
      }
      var active = document.activeElement;
      var focused = active && region.contains(active) ? signature(active) : null;
      region.innerHTML = event.data;
      details = region.querySelectorAll('details');
      for (var j = 0; j < details.length && j < open.length; j++) {
        details[j].open = open[j];
      }
      if (focused) {
        var candidates = region.querySelectorAll('a, [tabindex], summary');
        for (var k = 0; k < candidates.length; k++) {
          if (signature(candidates[k]) === focused) {
            candidates[k].focus({ preventScroll: true });
            break;
          }
        }
      }
      if (status && Date.now() - announced > LIVE_ANNOUNCE_MS) {
        announced = Date.now();
        status.textContent = 'The figures were updated.';
      }
    });
  }

  function init() {
    var live = document.querySelectorAll('[data-live]');
    for (var l = 0; l < live.length; l++) {
      initLive(live[l]);
    }
    var wrappers = document.querySelectorAll('.hys-character-count');
    for (var i = 0; i < wrappers.length; i++) {
      initCharacterCount(wrappers[i]);
    }
  }

  if (document.readyState === 'loading') {
    document.addEventListener('DOMContentLoaded', init);
  } else {
    init();
  }
})();
