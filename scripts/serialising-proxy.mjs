// An HTTP proxy for requests to 127.0.0.1 that sends each request upstream on
// a new connection with `Connection: close`, for servers that hold a thread
// per keep-alive connection (scripts/wasm-pack-chrome.mjs says why). Anything
// else (another host, CONNECT) is refused, so a browser behind it reaches
// nothing but the local test server.
import http from "node:http";

const LOOPBACK = /^http:\/\/127\.0\.0\.1:\d+\//;
// Hop-by-hop headers belong to one connection, not to the request.
const HOP_BY_HOP = new Set([
  "connection",
  "keep-alive",
  "proxy-connection",
  "proxy-authorization",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
]);

function endToEnd(headers) {
  return Object.fromEntries(Object.entries(headers).filter(([name]) => !HOP_BY_HOP.has(name)));
}

export async function startSerialisingProxy() {
  let forwarded = 0;
  const server = http.createServer((request, response) => {
    if (!LOOPBACK.test(request.url)) {
      response.writeHead(403).end();
      return;
    }
    forwarded++;
    const upstream = http.request(
      request.url,
      { method: request.method, headers: endToEnd(request.headers), agent: false },
      (answer) => {
        response.writeHead(answer.statusCode, answer.statusMessage, endToEnd(answer.headers));
        answer.pipe(response);
      },
    );
    upstream.on("error", () => response.destroy());
    request.pipe(upstream);
  });
  server.on("connect", (_request, socket) => socket.destroy());
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    port: server.address().port,
    forwarded: () => forwarded,
    close: () => {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(resolve));
    },
  };
}
