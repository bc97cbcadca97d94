/* The comparison viewer: one zoom and pan shared by every panel (scroll to zoom about the pointer,
 * drag to pan, buttons for 1:1 and fit), and a before/after slider that clips the restored image.
 * Images are drawn at the restored image's pixel size (a smaller input, e.g. super-resolution, is
 * enlarged with nearest-neighbour sampling so its pixels stay visible). */
(function () {
  "use strict";
  var viewer = document.getElementById("viewer");
  if (!viewer) return;
  var layers = Array.prototype.slice.call(viewer.querySelectorAll("img.layer"));
  var viewports = Array.prototype.slice.call(viewer.querySelectorAll(".viewport"));
  var over = document.getElementById("slider-over");
  var slider = document.getElementById("slider");
  var label = document.getElementById("zoom-level");
  var state = { scale: 1, x: 0, y: 0, width: 0, height: 0 };

  function apply() {
    layers.forEach(function (img) {
      img.style.width = state.width + "px";
      img.style.height = state.height + "px";
      img.style.transform = "translate(" + state.x + "px," + state.y + "px) scale(" + state.scale + ")";
    });
    viewer.dataset.zoom = String(state.scale);
    if (label) label.textContent = Math.round(state.scale * 100) + " %";
  }

  function fit() {
    var box = viewports[0].getBoundingClientRect();
    state.scale = Math.min(box.width / state.width, box.height / state.height);
    state.x = 0;
    state.y = 0;
    apply();
  }

  function zoomAbout(factor, cx, cy) {
    var scale = Math.max(0.05, Math.min(32, state.scale * factor));
    state.x = cx - (cx - state.x) * (scale / state.scale);
    state.y = cy - (cy - state.y) * (scale / state.scale);
    state.scale = scale;
    apply();
  }

  function sized() {
    var reference = over || layers[0];
    state.width = reference.naturalWidth;
    state.height = reference.naturalHeight;
    fit();
  }
  var reference = over || layers[0];
  if (reference.complete && reference.naturalWidth) sized();
  else reference.addEventListener("load", sized);

  viewports.forEach(function (port) {
    port.addEventListener("wheel", function (event) {
      event.preventDefault();
      var box = port.getBoundingClientRect();
      zoomAbout(event.deltaY < 0 ? 1.25 : 0.8, event.clientX - box.left, event.clientY - box.top);
    }, { passive: false });
    var drag = null;
    port.addEventListener("pointerdown", function (event) {
      drag = { x: event.clientX - state.x, y: event.clientY - state.y };
      port.setPointerCapture(event.pointerId);
    });
    port.addEventListener("pointermove", function (event) {
      if (!drag) return;
      state.x = event.clientX - drag.x;
      state.y = event.clientY - drag.y;
      apply();
    });
    port.addEventListener("pointerup", function () { drag = null; });
  });

  viewer.querySelectorAll("[data-zoom-action]").forEach(function (button) {
    button.addEventListener("click", function () {
      var action = button.dataset.zoomAction;
      var box = viewports[0].getBoundingClientRect();
      if (action === "fit") return fit();
      if (action === "one") {
        zoomAbout(1 / state.scale, box.width / 2, box.height / 2);
        return;
      }
      zoomAbout(action === "in" ? 1.5 : 1 / 1.5, box.width / 2, box.height / 2);
    });
  });

  function clip() {
    if (over) over.style.clipPath = "inset(0 0 0 " + slider.value + "%)";
  }
  if (slider) {
    slider.addEventListener("input", clip);
    clip();
  }
})();
