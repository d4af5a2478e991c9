#!/usr/bin/env bash
# Puts `pscs` and `pscsd` on PATH as symlinks to this checkout's built entry points: in
# /usr/local/bin as root, else in ~/.local/bin (PSCS_BIN_DIR overrides). Idempotent; a link made
# from another checkout is repointed here, anything else of that name is left alone.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)

say() { printf 'bootstrap: %s\n' "$*" >&2; }

if [ -n "${PSCS_BIN_DIR:-}" ]; then
  dir=$PSCS_BIN_DIR
elif [ "$(id -u)" = 0 ]; then
  dir=/usr/local/bin
elif [ -n "${HOME:-}" ]; then
  dir=$HOME/.local/bin
else
  say "no HOME to link pscs into: run 'npx pscs' in $root"
  exit 0
fi
mkdir -p "$dir"

for name in pscs pscsd; do
  target=$root/dist/src/bin/$name.js
  link=$dir/$name
  if [ -e "$link" ] || [ -L "$link" ]; then
    case "$(readlink "$link" || true)" in
      */dist/src/bin/"$name".js) ;;
      *)
        say "$link exists and is not a link to a pscs checkout: left alone (run $target instead)"
        continue
        ;;
    esac
  fi
  # Replace atomically: a shell that runs pscs meanwhile finds the old link or the new one.
  ln -sfn "$target" "$link.new.$$"
  mv -Tf "$link.new.$$" "$link"
done

case ":$PATH:" in
  *":$dir:"*) say "pscs and pscsd are on PATH ($dir)" ;;
  *) say "pscs and pscsd are in $dir, which is not on PATH: add it (export PATH=\"$dir:\$PATH\"), or run 'npx pscs' in $root" ;;
esac
