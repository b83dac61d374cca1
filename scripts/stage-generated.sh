#!/usr/bin/env bash
# Regenerates convex/_generated from what is staged (not the work tree) and stages the result,
# so a commit never references modules that are not in it.
set -euo pipefail
root=$(git rev-parse --show-toplevel)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
git -C "$root" checkout-index -a --prefix="$tmp/"
ln -s "$root/node_modules" "$tmp/node_modules"
node "$root/scripts/codegen.mjs" --cwd "$tmp"
for f in "$tmp"/convex/_generated/*; do
  name=$(basename "$f")
  git -C "$root" update-index --add --cacheinfo "100644,$(git -C "$root" hash-object -w "$f"),convex/_generated/$name"
done
