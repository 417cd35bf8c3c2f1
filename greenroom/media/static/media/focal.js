// Focal point picker: click the picture to move the point, then the form saves it.
// The number fields stay usable from the keyboard; this only adds the pointer.
document.addEventListener("DOMContentLoaded", () => {
  for (const picker of document.querySelectorAll("[data-focal-picker]")) {
    const form = document.getElementById(picker.dataset.focalForm);
    const image = picker.querySelector("img");
    const marker = picker.querySelector(".gr-focal-marker");
    if (!form || !image || !marker) continue;
    const x = form.querySelector("[name=x]");
    const y = form.querySelector("[name=y]");
    const place = () => {
      marker.style.left = `${Math.min(1, Math.max(0, parseFloat(x.value) || 0)) * 100}%`;
      marker.style.top = `${Math.min(1, Math.max(0, parseFloat(y.value) || 0)) * 100}%`;
    };
    x.addEventListener("input", place);
    y.addEventListener("input", place);
    picker.addEventListener("click", (event) => {
      const box = image.getBoundingClientRect();
      const fx = Math.min(1, Math.max(0, (event.clientX - box.left) / box.width));
      const fy = Math.min(1, Math.max(0, (event.clientY - box.top) / box.height));
      x.value = fx.toFixed(3);
      y.value = fy.toFixed(3);
      place();
      const save = form.querySelector("button[value=set]");
      form.requestSubmit(save || undefined);
    });
  }
});
