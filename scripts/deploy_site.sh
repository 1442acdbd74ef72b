#!/usr/bin/env bash
# Publishes the web page (site/) to the stack's S3 bucket behind CloudFront, with config.js
# pointing the page at the stack's API. Run after the stack is deployed:
#
#   scripts/deploy_site.sh [STACK_NAME]    # default: $STACK_NAME, else emotion-evaluator
#
# Needs the AWS CLI with credentials for the stack's account (AWS_REGION / AWS_PROFILE as
# usual) and npm for site/build.sh. Reads the stack outputs ApiUrl, SiteBucketName,
# SiteDistributionId and SiteUrl.
set -euo pipefail

STACK="${1:-${STACK_NAME:-emotion-evaluator}}"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SITE="$ROOT/site"

die() { echo "deploy_site: $*" >&2; exit 1; }

command -v aws >/dev/null || die "the AWS CLI is not installed"

OUTPUTS="$(aws cloudformation describe-stacks --stack-name "$STACK" \
  --query 'Stacks[0].Outputs[].[OutputKey,OutputValue]' --output text)" \
  || die "cannot read the outputs of stack $STACK (deployed? right region and account?)"

output() {
  local value
  value="$(awk -F'\t' -v key="$1" '$1 == key { print $2 }' <<<"$OUTPUTS")"
  [[ -n "$value" && "$value" != "None" ]] || die "stack $STACK has no output $1"
  printf '%s' "$value"
}

API_URL="$(output ApiUrl)"
BUCKET="$(output SiteBucketName)"
DISTRIBUTION="$(output SiteDistributionId)"
SITE_URL="$(output SiteUrl)"

# The URL is written into JavaScript: accept only a plain https URL, nothing to escape.
[[ "$API_URL" =~ ^https://[A-Za-z0-9.-]+(:[0-9]+)?(/[A-Za-z0-9._~/-]*)?$ ]] \
  || die "ApiUrl '$API_URL' is not a plain https:// URL"
API_URL="${API_URL%/}"

bash "$SITE/build.sh"

# Stage exactly what the page serves: no npm project files, no build script.
STAGE="$(mktemp -d)"
trap 'rm -rf "$STAGE"' EXIT
cp "$SITE"/index.html "$SITE"/*.js "$SITE"/*.css "$STAGE"/
cp -R "$SITE/vendor" "$STAGE/vendor"
rm -f "$STAGE/vendor/.stamp"
# CloudFront compresses the text files itself (Compress: true), but not wasm or the model,
# whose types are not on its list: those go up as build.sh's gzip copies, under their own
# names, with Content-Encoding: gzip (every browser takes gzip). No other copy goes up.
while IFS= read -r -d '' file; do
  [[ -f "$file.gz" ]] || die "$file has no gzip copy (site/build.sh writes one)"
  mv "$file.gz" "$file"
done < <(find "$STAGE/vendor" -type f \( -name '*.wasm' -o -name '*.tflite' \) -print0)
find "$STAGE/vendor" -type f \( -name '*.gz' -o -name '*.br' \) -delete
cat >"$STAGE/config.js" <<EOF
// Written by scripts/deploy_site.sh for stack $STACK.
window.EMOTION_CONFIG = { apiUrl: '$API_URL' };
EOF

FOREVER='public, max-age=31536000, immutable'
# The page's code, revalidated on every visit (a 304 when unchanged: its names carry no
# hash, and a visitor must never run a new page against old modules)...
aws s3 sync "$STAGE" "s3://$BUCKET" --delete --only-show-errors \
  --exclude index.html --exclude config.js --exclude 'vendor/detector-*' \
  --cache-control 'no-cache'
# ...the detector's files, in a directory named for their hash, kept for good...
aws s3 sync "$STAGE" "s3://$BUCKET" --only-show-errors \
  --exclude '*' --include 'vendor/detector-*' --exclude '*.wasm' --exclude '*.tflite' \
  --cache-control "$FOREVER"
# ...its wasm (gzipped) with its own type, which browsers need to compile it while it
# downloads, and the model (gzipped)...
aws s3 sync "$STAGE" "s3://$BUCKET" --only-show-errors \
  --exclude '*' --include '*.wasm' \
  --content-type application/wasm --content-encoding gzip --cache-control "$FOREVER"
aws s3 sync "$STAGE" "s3://$BUCKET" --only-show-errors \
  --exclude '*' --include '*.tflite' \
  --content-type application/octet-stream --content-encoding gzip --cache-control "$FOREVER"
# ...then the entry points, always revalidated, so a visitor never loads a new page
# against old files, and a new API URL applies at once.
for entry in config.js index.html; do
  aws s3 cp "$STAGE/$entry" "s3://$BUCKET/$entry" --only-show-errors \
    --cache-control 'no-cache'
done

INVALIDATION="$(aws cloudfront create-invalidation --distribution-id "$DISTRIBUTION" \
  --paths '/*' --query 'Invalidation.Id' --output text)"

echo "deploy_site: site/ is on s3://$BUCKET, API $API_URL"
echo "deploy_site: CloudFront invalidation $INVALIDATION started (a minute or two)"
echo "deploy_site: open $SITE_URL"
