// The workerd module worker: the test app (app.js) as its default export.
// hono.test.mjs bundles it with esbuild, as wrangler does, and serves the
// bundle with workerd (see workerd.mjs).
import { createTestApp } from "./app.js";

export default createTestApp("workerd");
