import { test } from "node:test";
import assert from "node:assert/strict";
import { PassThrough, Writable } from "node:stream";
import { promptSecret } from "./promptSecret.ts";

test("promptSecret reads a line and echoes nothing of it", async () => {
  const input = new PassThrough();
  let shown = "";
  const output = new Writable({ write: (c, _e, done) => ((shown += String(c)), done()) });
  const answer = promptSecret("Passphrase: ", { input, output });
  input.write("s3cret phrase\n");
  assert.equal(await answer, "s3cret phrase");
  assert.equal(shown, "Passphrase: \n");
});

test("promptSecret fails when the input ends before a line", async () => {
  const input = new PassThrough();
  const answer = promptSecret("Passphrase: ", { input, output: new PassThrough() });
  input.end();
  await assert.rejects(answer, /no input/);
});
