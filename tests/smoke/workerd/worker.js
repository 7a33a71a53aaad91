// The workerd smoke worker: imports `webkv` by name (the runner maps the name
// to the package's "workerd" export, as wrangler/esbuild would) and answers
// GET /scenario with the scenario's JSON result.
import * as webkv from "webkv";
import { runScenario } from "./scenario.js";
import { runRemoteScenario } from "./remote_scenario.js";

export default {
  async fetch(request) {
    const url = new URL(request.url);
    if (url.pathname === "/health") return new Response("ok");
    if (url.pathname === "/remote") {
      const { searchParams } = url;
      const results = await runRemoteScenario(webkv, searchParams.get("url"), searchParams.get("token"), "workerd");
      return Response.json(results);
    }
    if (url.pathname !== "/scenario") return new Response("not found", { status: 404 });
    const results = await runScenario(webkv, "workerd");
    return Response.json(results);
  },
};
