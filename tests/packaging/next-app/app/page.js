// A prerendered page whose only content is a client component: webkv runs in
// the browser, in the bundle Next builds for it.
import ClientKv from "./client-kv.js";

export default function Page() {
  return (
    <main>
      <h1>webkv in a client component</h1>
      <ClientKv />
    </main>
  );
}
