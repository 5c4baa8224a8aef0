// Swagger UI for the local stack: renders /openapi.yaml, every asset served by the local API (no CDN).
// Swagger UI 4 only renders OpenAPI 3.0.n; our document is 3.1, whose paths and schemas it displays
// the same way, so the version line is read as 3.0.3 for display only (the served file is unchanged).
// The local server's entry names port 3000; "Try it out" must call the port this page came from.
const asDisplayed = (text) =>
  text
    .replace(/^openapi:\s*["']?3\.1\.\d+["']?\s*$/m, "openapi: 3.0.3")
    .replace(/^(\s*- url:\s*)\w+:\/\/127\.0\.0\.1:\d+\s*$/m, `$1${window.location.origin}`);

const OpenApi31AsDisplayed = () => ({
  statePlugins: {
    spec: {
      wrapActions: {
        updateSpec: (original) => (text) => original(typeof text === "string" ? asDisplayed(text) : text),
      },
    },
  },
});

window.onload = () => {
  window.ui = SwaggerUIBundle({
    url: "/openapi.yaml",
    dom_id: "#swagger-ui",
    deepLinking: true,
    presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
    plugins: [OpenApi31AsDisplayed],
    layout: "BaseLayout",
    validatorUrl: null,
  });
};
