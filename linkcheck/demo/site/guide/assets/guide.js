/* Akiba Hobby Store guide: mobile side-nav toggle and current-page highlight. */
(function () {
  "use strict";

  document.documentElement.classList.add("js");

  var nav = document.getElementById("side-nav");
  var toggle = document.querySelector(".nav-toggle");
  if (!nav) {
    return;
  }

  // Highlight the current topic in the side nav.
  var here = location.pathname.split("/").pop() || "index.html";
  var links = nav.querySelectorAll("a");
  for (var i = 0; i < links.length; i++) {
    if (links[i].getAttribute("href") === here) {
      links[i].setAttribute("aria-current", "page");
    }
  }

  // Open and close the side nav on small screens.
  if (toggle) {
    toggle.addEventListener("click", function () {
      var open = nav.classList.toggle("is-open");
      toggle.setAttribute("aria-expanded", open ? "true" : "false");
    });
  }
})();
