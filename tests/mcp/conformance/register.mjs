// `node --import ./register.mjs …conformance/dist/index.js`: installs hooks.mjs where Node has no
// fs.globSync (Node 20); on Node 22+ it does nothing.
import fs from "node:fs";
import { register } from "node:module";
if (typeof fs.globSync !== "function") register("./hooks.mjs", import.meta.url);
