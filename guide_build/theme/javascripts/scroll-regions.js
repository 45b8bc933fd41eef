/* A box that scrolls sideways must be reachable by keyboard, or a reader without a mouse cannot
   see the end of its lines. Material makes its own code blocks focusable; this does the same for
   the boxes it does not: the wrappers of wide tables and the code of the notebook pages
   (nbconvert's markup). It runs on every page load (and instant navigation), and on resize, since
   whether a box scrolls depends on the width of the screen. */
(function () {
  "use strict";
  var BOXES = [
    [".md-typeset__scrollwrap", "Table"],
    [".jupyter-wrapper .highlight-ipynb", "Code"],
    [".jupyter-wrapper pre", "Code"],
    [".jupyter-wrapper .jp-OutputArea-output", "Output"],
  ];

  function scrolls(box) {
    var style = getComputedStyle(box);
    return (
      (/auto|scroll/.test(style.overflowX) && box.scrollWidth > box.clientWidth) ||
      (/auto|scroll/.test(style.overflowY) && box.scrollHeight > box.clientHeight)
    );
  }

  function markScrollingBoxes() {
    BOXES.forEach(function (entry) {
      document.querySelectorAll(entry[0]).forEach(function (box) {
        if (scrolls(box)) {
          if (box.hasAttribute("tabindex")) return;
          box.setAttribute("tabindex", "0");
          box.setAttribute("role", "group");
          box.setAttribute("aria-label", entry[1] + " (scrolls sideways)");
          box.setAttribute("data-guide-scrolls", "");
        } else if (box.hasAttribute("data-guide-scrolls")) {
          ["tabindex", "role", "aria-label", "data-guide-scrolls"].forEach(function (name) {
            box.removeAttribute(name);
          });
        }
      });
    });
  }

  var pending = 0;
  function later() {
    cancelAnimationFrame(pending);
    pending = requestAnimationFrame(markScrollingBoxes);
  }

  if (typeof document$ !== "undefined") {
    document$.subscribe(markScrollingBoxes); // Material: each page, instant navigation included
  } else {
    document.addEventListener("DOMContentLoaded", markScrollingBoxes);
  }
  window.addEventListener("resize", later);
})();
