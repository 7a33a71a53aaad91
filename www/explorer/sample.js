// Sample data the explorer offers to load into an empty database, so that a
// first visit shows it at work in one click: a small app's users, posts and
// counters, with a value of every type the explorer shows.
import { KvU64 } from "/pkg/browser.js";

const day = 24 * 60 * 60 * 1000;

/** The sample entries: [key, value, options?]. */
export function sampleEntries(now = Date.now()) {
  return [
    [["users", "ada"], { name: "Ada Lovelace", email: "ada@example.com", joined: new Date("2024-01-10T09:00:00Z"), roles: new Set(["admin", "author"]) }],
    [["users", "grace"], { name: "Grace Hopper", email: "grace@example.com", joined: new Date("2024-02-03T14:30:00Z"), roles: new Set(["author"]) }],
    [["users", "linus"], { name: "Linus", email: "linus@example.com", joined: new Date("2024-03-21T18:05:00Z"), roles: new Set() }],
    // A secondary index: the user for an email address.
    [["users_by_email", "ada@example.com"], "ada"],
    [["users_by_email", "grace@example.com"], "grace"],
    [["posts", "ada", 1], { title: "Notes on the Analytical Engine", tags: ["math", "history"], published: new Date("2024-01-12T10:00:00Z") }],
    [["posts", "ada", 2], { title: "Loops, before loops", tags: ["math"], published: null }],
    [["posts", "grace", 1], { title: "It's easier to ask forgiveness", tags: ["teams"], published: new Date("2024-02-10T08:15:00Z") }],
    // Counters that atomic().sum() increments.
    [["counters", "visits"], new KvU64(1024n)],
    [["counters", "signups"], new KvU64(3n)],
    [["leaderboard", 9001, "grace"], 9001],
    [["leaderboard", 4200, "ada"], 4200],
    [["settings"], new Map([["theme", "dark"], ["pageSize", 50], ["beta", true]])],
    [["files", "logo.png"], new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])],
    [["stats", "bytesServed"], 123456789012345678901234567890n],
    // A session that expires by itself in a day (expireIn).
    [["sessions", "5f0c2a9e"], { user: "ada", expires: new Date(now + day) }, { expireIn: day }],
  ];
}

/**
 * Loads the sample into a database that is still empty (another tab may
 * have written since the offer was shown), in one atomic commit that also
 * checks every sample key is absent, so it never overwrites anything.
 * Returns the number of entries written, or 0 if the database was not empty.
 */
export async function loadSample(kv) {
  for await (const _ of kv.list({ prefix: [] }, { limit: 1 })) return 0;
  const entries = sampleEntries();
  const op = kv.atomic();
  for (const [key] of entries) op.check({ key, versionstamp: null });
  for (const [key, value, options] of entries) op.set(key, value, options);
  const { ok } = await op.commit();
  return ok ? entries.length : 0;
}
