// Small enhancements only: every feature of the page works without this file.
(function () {
  "use strict";

  // "/" jumps to the search box, as on many search sites (not while typing in a field).
  document.addEventListener("keydown", function (event) {
    var target = event.target;
    var typing = target && (target.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName));
    if (event.key === "/" && !typing && !event.ctrlKey && !event.metaKey && !event.altKey) {
      var box = document.getElementById("q") || document.getElementById("q-header");
      if (box) {
        event.preventDefault();
        box.focus();
        box.select();
      }
    }
  });

  // On a phone the facet groups start folded so the results come first.
  if (window.matchMedia && window.matchMedia("(max-width: 760px)").matches) {
    document.querySelectorAll(".sidebar details.facet").forEach(function (group) {
      if (!group.querySelector(".is-selected")) {
        group.removeAttribute("open");
      }
    });
  }

  // "Back to search" returns to the exact results page the reader came from, when there was one.
  var back = document.querySelector("[data-back]");
  if (back && document.referrer) {
    try {
      var from = new URL(document.referrer);
      if (from.origin === window.location.origin && from.pathname === "/") {
        back.setAttribute("href", from.pathname + from.search);
      }
    } catch (error) {
      // An unparsable referrer just keeps the plain link.
    }
  }
})();
