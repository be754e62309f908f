/*
 * widgets-env.js -- prepares a page for the widget manager (embed-amd.js).
 *
 * Loaded on the pages that hold widget state, right after require.js and
 * right before embed-amd.js (the order of nb_ipywidgets_js in _config.yml).
 * Three things go wrong for the manager on the book's pages:
 *
 * 1. Its icon fonts. The manager's bundles locate their fonts next to the
 *    AMD modules they define ("@jupyter-widgets/html-manager/dist/libembed-amd",
 *    "@jupyter-widgets/controls", ...), and require.js places those under the
 *    page's own folder, where nothing is (404s, and no icons on the play
 *    buttons). The fonts are in _static/jupyter-widgets/ (vendor/), so map the
 *    module names there.
 * 2. MathJax. ipywidgets 8 typesets widget labels with MathJax 2's API
 *    (MathJax.Hub.Queue) whenever window.MathJax exists; the book loads
 *    MathJax 3, which has no Hub, so every labelled widget threw a TypeError.
 *    Give MathJax 3 that one call, done its own way. MathJax 3 replaces
 *    window.MathJax when its (deferred) script runs, so the shim goes in at
 *    DOMContentLoaded, after that and before the manager draws (on load).
 * 3. Font Awesome. The theme's fontawesome.js watches the page and swaps every
 *    <i class="fa ..."> that appears for an <svg>, the icons the widget views
 *    draw too. The Play view finds its icon again as an <i> on every change of
 *    its value, finds none and throws, and that stops the jslink chain of the
 *    time stepper (slider -> play, slider -> frames): its frames never changed.
 *    So on widget pages Font Awesome converts the icons of the page as served
 *    (on DOMContentLoaded, as always) and then stops watching (its noAuto(),
 *    on load, before the manager draws): the widgets' icons stay the font
 *    icons the manager draws (fonts from 1.).
 */
(function () {
  "use strict";

  // this file is _static/lstmbook/widgets-env.js
  const widgetFiles = new URL("../jupyter-widgets/", document.currentScript.src).href;
  window.require.config({
    paths: {
      "@jupyter-widgets/html-manager/dist": widgetFiles.slice(0, -1),
      "@jupyter-widgets/html-manager": widgetFiles + "html-manager",
      "@jupyter-widgets/controls": widgetFiles + "controls",
      "@jupyter-widgets/base": widgetFiles + "base",
      "@jupyter-widgets/output": widgetFiles + "output",
    },
  });

  function addHub() {
    const mathjax = window.MathJax;
    if (!mathjax || !mathjax.version || mathjax.Hub) return;
    mathjax.Hub = {
      // MathJax 2's Queue(["Typeset", MathJax.Hub, element]) as MathJax 3 does it
      Queue: function (command) {
        const element = command[2];
        mathjax.startup.promise = mathjax.startup.promise.then(() => mathjax.typesetPromise([element]));
      },
    };
  }
  addHub();
  document.addEventListener("DOMContentLoaded", addHub);

  // registered now, so before the manager's own load listener
  window.addEventListener("load", () => {
    if (window.FontAwesome && typeof window.FontAwesome.noAuto === "function") window.FontAwesome.noAuto();
  });
})();
