// Holds SQLite's write lock on a file (an open write transaction) until
// killed; prints "locked" once it has it. Run with Node 24.
import { DatabaseSync } from "node:sqlite";

const db = new DatabaseSync(process.argv[2]);
db.exec("begin immediate");
db.exec("update data_version set version = version where k = 0");
console.log("locked");
setInterval(() => {}, 1000);
