#!/usr/bin/env bash
# Re-create tsad/console/static/vendor/ from the npm registry: uPlot (the console's
# charts) and swagger-ui-dist (the API docs at /schema). The files are committed, so
# neither `pip install` nor `tsad serve` needs npm or any network; run this only to
# change a version. Each package's licence is copied beside its files.
set -euo pipefail
UPLOT=1.6.32
SWAGGER=5.35.0
here="$(cd "$(dirname "$0")" && pwd)"
out="$here/static/vendor"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
cd "$tmp"
npm pack --silent "uplot@$UPLOT" "swagger-ui-dist@$SWAGGER" >/dev/null
mkdir uplot swagger
tar xzf "uplot-$UPLOT.tgz" -C uplot
tar xzf "swagger-ui-dist-$SWAGGER.tgz" -C swagger
rm -rf "$out" && mkdir -p "$out/uplot" "$out/swagger-ui"
cp uplot/package/dist/uPlot.iife.min.js uplot/package/dist/uPlot.min.css \
  uplot/package/LICENSE "$out/uplot/"
cp swagger/package/{swagger-ui-bundle.js,swagger-ui-standalone-preset.js,swagger-ui.css} \
  swagger/package/{LICENSE,NOTICE} \
  swagger/package/{swagger-ui-bundle.js.LICENSE.txt,swagger-ui-standalone-preset.js.LICENSE.txt} \
  "$out/swagger-ui/"
# the bundles end with a sourceMappingURL to maps we do not ship: drop it so
# browsers do not ask for a missing file
sed -i '/^\/\/# sourceMappingURL=/d' "$out"/swagger-ui/*.js
sed -i 's#/\*\# sourceMappingURL=[^*]*\*/##' "$out"/swagger-ui/swagger-ui.css
printf 'uplot %s (MIT)\nswagger-ui-dist %s (Apache-2.0)\n' "$UPLOT" "$SWAGGER" >"$out/VERSIONS"
echo "vendored into $out"
