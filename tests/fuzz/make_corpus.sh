#!/usr/bin/env bash
# Regenerates the committed seed corpora in tests/fuzz/corpus/ from things we made: datagrams
# sealed under the fixed fuzz identities, serialized session messages and inner IP packets
# (fuzz_corpus_generator), and the repository's example local.conf files.
#   tests/fuzz/make_corpus.sh BUILD_DIR     (any build with fuzz_corpus_generator in it)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${1:?usage: $0 BUILD_DIR}

"$build/tests/fuzz/fuzz_corpus_generator" "$here/corpus"
mkdir -p "$here/corpus/local_conf"
for f in "$root"/deploy/examples/*.conf; do
  cp "$f" "$here/corpus/local_conf/example-$(basename "$f")"
done
du -sh "$here/corpus"
