// Swagger UI 5 for the local stack: renders /openapi.yaml (OpenAPI 3.1) as served, every asset from the local API.
// "Try it out" calls the document's first server, "/": the host and port this page and the document came from.
window.onload = () => {
  window.ui = SwaggerUIBundle({
    url: "/openapi.yaml",
    dom_id: "#swagger-ui",
    deepLinking: true,
    presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
    layout: "BaseLayout",
    validatorUrl: null,
  });
};
