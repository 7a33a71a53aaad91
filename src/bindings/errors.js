// Errors for JS: Deno's error classes by name, and the text of a JS error
// for a Rust one.

const ERROR_CONSTRUCTORS = { Error, TypeError, RangeError };

// Deno's own class where webkv runs inside Deno, so `instanceof` works.
function badResource(message) {
  const DenoBadResource = globalThis.Deno?.errors?.BadResource;
  if (typeof DenoBadResource === "function") return new DenoBadResource(message);
  const error = new Error(message);
  error.name = "BadResource";
  return error;
}

export function makeClassError(className, message) {
  if (className === "BadResource") return badResource(message);
  const ctor = ERROR_CONSTRUCTORS[className] ?? Error;
  return new ctor(message);
}

export function errorText(error) {
  try {
    const cause = error?.cause ? ` (${error.cause?.message ?? error.cause})` : "";
    return `${error?.message ?? String(error)}${cause}`;
  } catch {
    return "unknown error";
  }
}

