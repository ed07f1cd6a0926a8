"use strict";
// Starts Swagger UI on /schema (a file, not an inline script: the page's CSP allows no inline code).
const box = document.getElementById("swagger-ui");
window.ui = SwaggerUIBundle({
  url: box.dataset.specUrl,
  domNode: box,
  deepLinking: true,
  layout: "BaseLayout",
  validatorUrl: null, // the default sends the document to an online validator
});
