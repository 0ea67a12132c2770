/*
 * Have Your Say - progressive enhancement.
 * The site works fully without this file. Loaded with `defer`; CSP script-src 'self'.
 *
 * Character count: for each .hys-character-count holding a textarea[data-maxlength],
 * keep .hys-character-count__message up to date ("You have 123 characters remaining" /
 * "You have 5 characters too many"). Screen readers hear the count through a separate
 * visually hidden aria-live="polite" region, updated once typing pauses, so that
 * they are not interrupted on every keystroke.
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

  function init() {
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
