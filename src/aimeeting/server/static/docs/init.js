// Starts Swagger UI on the served OpenAPI document, whose address the page gives
// (src/aimeeting/server/api/routes/apidocs.py).
window.ui = SwaggerUIBundle({
  url: document.getElementById("swagger-ui").dataset.url,
  dom_id: "#swagger-ui",
  layout: "BaseLayout",
  deepLinking: true,
  showExtensions: true,
  showCommonExtensions: true,
  presets: [SwaggerUIBundle.presets.apis],
  // "Try it out" asks the server that served this page, whatever the document's `servers`
  // say (the contract's http://localhost:3000): the page may only talk to its own origin.
  requestInterceptor: (request) => {
    const url = new URL(request.url, window.location.href);
    request.url = window.location.origin + url.pathname + url.search;
    return request;
  },
});
