#!/usr/bin/env bash
# Build the seed corpora fuzz/corpus/<target>/ (git-ignored) from the project's fixtures and
# tests, and from ../shared/corpus when it is beside the checkout (those real configs are not
# committed under fuzz/: their provenance rows live in ../shared/corpus/SOURCES.md).
# Usage: fuzz/seed.sh [target...]   (no argument: every target)
set -euo pipefail
cd "$(dirname "$0")/.."
shared=../shared/corpus

# seed TARGET FILE...: copy files (content-addressed, so duplicates collapse) into the corpus.
seed() {
  local target=$1
  shift
  local dir=fuzz/corpus/$target
  mkdir -p "$dir"
  local f
  for f in "$@"; do
    [[ -f $f && $(basename "$f") != SOURCES.md && $(basename "$f") != NOTICE ]] || continue
    cp "$f" "$dir/$(sha1sum "$f" | cut -c1-16)"
  done
}

files() { # every file under the given folders that exist
  local d
  for d in "$@"; do
    [[ -d $d ]] && find "$d" -type f | sort
  done
  return 0
}

# format name in the registry -> folder name under ../shared/corpus
shared_dir() { [[ $1 == fortios ]] && echo fortigate || echo "$1"; }

targets=("$@")
if [[ ${#targets[@]} -eq 0 ]]; then
  targets=($(sed -n 's/^name = "\(.*\)"$/\1/p' fuzz/Cargo.toml | grep -v '^portaudit[-_]fuzz$'))
fi
for t in "${targets[@]}"; do
  case $t in
    parse_ucontact)
      mapfile -t list < <(files fixtures/ucontact tests/data/truncated; find policies/tests/ucontact -name '*.yaml' ! -name portaudit.yaml ! -name expect.yaml | sort) ;;
    parse_*)
      fmt=${t#parse_}
      mapfile -t list < <(files "fixtures/$fmt" "$shared/$(shared_dir "$fmt")") ;;
    detect | evaluate | walk_index)
      mapfile -t list < <(files fixtures "$shared") ;;
    pack)
      mapfile -t list < <(ls policies/*.yaml; files tests/data/packs) ;;
    yaml_direct)
      mapfile -t list < <(find policies fixtures tests .github -name '*.yaml' -o -name '*.yml' | sort) ;;
    config)
      mapfile -t list < <(find fixtures tests/data policies/tests -name portaudit.yaml | sort) ;;
    *)
      echo "unknown target $t" >&2
      exit 2 ;;
  esac
  seed "$t" "${list[@]}"
  echo "$t: $(ls "fuzz/corpus/$t" | wc -l) seeds"
done
