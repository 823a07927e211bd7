/**
 * `deno task bench`'s flags decide where results go: only a full run to the default file replaces
 * bench/results/latest.json and the README's table; a run of some scenarios or clients goes to partial.json.
 */
import { expect } from "expect";
import { parseSettings } from "../bench/common.ts";

Deno.test("only a full bench run rewrites the README's table and latest.json", () => {
  expect(parseSettings([])).toMatchObject({ partial: false, readme: true, out: undefined });
  expect(parseSettings(["--reps", "2", "--budget-s", "900"])).toMatchObject({ partial: false, readme: true });
  // Some scenarios, or some clients: partial.json, README untouched.
  expect(parseSettings(["--scenarios", "3"])).toMatchObject({ partial: true, readme: false });
  expect(parseSettings(["--clients", "ossflow,fetch"])).toMatchObject({ partial: true, readme: false });
  // Elsewhere, quick, or asked not to.
  expect(parseSettings(["--out", "/tmp/x.json"])).toMatchObject({ readme: false, out: "/tmp/x.json" });
  expect(parseSettings(["--quick"])).toMatchObject({ readme: false });
  expect(parseSettings(["--no-readme"])).toMatchObject({ partial: false, readme: false });
});
