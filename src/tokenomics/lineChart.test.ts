import assert from "node:assert/strict";
import { test } from "node:test";
import { compact, lineChart, niceTicks, percentTick } from "./lineChart.ts";

test("niceTicks picks round steps covering the range", () => {
  assert.deepEqual(niceTicks(0, 10), [0, 2, 4, 6, 8, 10]);
  const t = niceTicks(-0.2, 0.05);
  assert.equal(t.length, 6);
  assert.ok(t.includes(0));
  assert.ok(Math.abs((t[0] ?? 0) + 0.2) < 1e-12 && Math.abs((t.at(-1) ?? 0) - 0.05) < 1e-12);
});

test("tick labels tell neighbouring ticks apart", () => {
  assert.equal(percentTick(0.025, 0.025), "2.5%");
  assert.equal(percentTick(0.1, 0.05), "10%");
  assert.equal(percentTick(0.0302, 0.0001), "3.02%");
  assert.equal(percentTick(0.03018, 0.00001 + 1e-19), "3.018%");
  assert.equal(compact(1_500_000), "1.5M");
  assert.equal(compact(250), "250");
});

test("lineChart draws an SVG with title, axis labels, legend and one polyline per series, with gaps for NaN", () => {
  const svg = lineChart({
    title: "Supply & <stuff>",
    x: [0, 1, 2, 3],
    xLabel: "years",
    yLabel: "tokens",
    series: [
      { name: "a", values: [1, 2, NaN, 4], color: "#000" },
      { name: "b", values: [4, 3, 2, 1], color: "#f00", dashed: true },
    ],
  });
  assert.match(svg, /^<svg xmlns="http:\/\/www.w3.org\/2000\/svg"/);
  assert.match(svg, /Supply &amp; &lt;stuff&gt;/);
  assert.match(svg, />years</);
  assert.match(svg, />tokens</);
  assert.equal((svg.match(/<polyline/g) ?? []).length, 3); // "a" is split by its gap
  assert.match(svg, /stroke-dasharray/);
  assert.doesNotMatch(svg, /NaN/);
});
