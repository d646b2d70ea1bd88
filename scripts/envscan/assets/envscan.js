/* envscan, site only, offline (no requests). A table wider than the text column scrolls
   sideways inside the wrapper Material puts around it; that wrapper then takes keyboard focus
   (the arrow keys scroll it) and is named, so that no cell is out of a keyboard's reach
   (WCAG 2.1.1). Tables that fit are left alone. Material's search dialog gets a name. */
(function () {
  "use strict";
  function mark() {
    var dialogs = document.querySelectorAll('.md-search[role="dialog"]:not([aria-label])');
    for (var d = 0; d < dialogs.length; d++) dialogs[d].setAttribute("aria-label", "Search");
    var boxes = document.querySelectorAll(".md-typeset__scrollwrap");
    for (var i = 0; i < boxes.length; i++) {
      var box = boxes[i];
      if (box.scrollWidth > box.clientWidth + 1) {
        box.setAttribute("tabindex", "0");
        box.setAttribute("role", "region");
        box.setAttribute("aria-label", "Table (scrolls sideways)");
      } else if (box.getAttribute("role") === "region") {
        box.removeAttribute("tabindex");
        box.removeAttribute("role");
        box.removeAttribute("aria-label");
      }
    }
  }
  if (typeof window.document$ !== "undefined") {
    window.document$.subscribe(function () { window.setTimeout(mark, 0); });
  }
  window.addEventListener("load", mark);
  window.addEventListener("resize", mark);
})();
