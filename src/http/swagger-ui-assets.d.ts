// The Swagger UI files the /doc explorer serves, imported as text: wrangler.toml's `[[rules]] type = "Text"`
// makes each one a string module (in `wrangler dev`, the vitest pool and `wrangler deploy` alike).
declare module 'swagger-ui-dist/swagger-ui-bundle.js' {
  const text: string;
  export default text;
}
declare module 'swagger-ui-dist/swagger-ui.css' {
  const text: string;
  export default text;
}
declare module 'swagger-ui-dist/index.css' {
  const text: string;
  export default text;
}
