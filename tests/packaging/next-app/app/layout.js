// The Next.js app the packaging tests build (next-app/ is copied under .tmp/
// with the packed webkv in node_modules/webkv; lib/ is filled in by the test
// from tests/smoke/scenario.js and app/src/durable.js). No next.config: webkv
// has to work with Next's defaults.
export const metadata = { title: "webkv in Next.js" };

export default function RootLayout({ children }) {
  return (
    <html lang="en">
      <body>{children}</body>
    </html>
  );
}
