// The login form of the framehive console: shows the error of a failed attempt (?failed=1) and
// carries ?next= (a local path, checked again by the master) into the form's hidden field.
"use strict";

(function () {
  const params = new URLSearchParams(window.location.search);
  if (params.get("failed") === "1") {
    document.getElementById("login-failed").hidden = false;
  }
  const next = params.get("next");
  // Only a local path: "/..." but not "//host/...".
  if (next && next.startsWith("/") && !next.startsWith("//")) {
    document.getElementById("login-next").value = next;
  }
})();
