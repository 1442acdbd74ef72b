"""scripts/deploy_site.sh against a stand-in `aws` command (no AWS here): which stack
outputs it reads, what it uploads with which headers, and what config.js says."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "scripts" / "deploy_site.sh"

# Logs each call; answers describe-stacks from $FAKE_OUTPUTS; copies what `s3 sync` and
# `s3 cp` would upload into $FAKE_BUCKET so the test can look at it.
FAKE_AWS = r"""#!/usr/bin/env bash
set -euo pipefail
printf '%s\n' "$*" >>"$FAKE_LOG"
case "$1 $2" in
  "cloudformation describe-stacks") printf '%b' "$FAKE_OUTPUTS" ;;
  "s3 sync")
    src="$3"; shift 4
    excludes=(); includes=(); only_included=0
    while [[ $# -gt 0 ]]; do
      case "$1" in
        --exclude) [[ "$2" == '*' ]] && only_included=1 || excludes+=("$2"); shift 2 ;;
        --include) includes+=("$2"); shift 2 ;;
        --only-show-errors|--delete) shift ;;
        *) shift 2 ;;
      esac
    done
    (cd "$src" && find . -type f | sed 's|^\./||') | while read -r f; do
      keep=1
      for p in "${excludes[@]}"; do [[ "$f" == $p ]] && keep=0; done
      if [[ $only_included == 1 ]]; then
        keep=0; for p in "${includes[@]}"; do [[ "$f" == $p ]] && keep=1; done
      fi
      if [[ $keep == 1 ]]; then
        mkdir -p "$FAKE_BUCKET/$(dirname "$f")"; cp "$src/$f" "$FAKE_BUCKET/$f"
      fi
    done ;;
  "s3 cp") cp "$3" "$FAKE_BUCKET/$(basename "$4")" ;;
  "cloudfront create-invalidation") echo I2NVALIDATION ;;
  *) echo "unexpected aws call: $*" >&2; exit 1 ;;
esac
"""

OUTPUTS = ("ApiUrl\thttps://abc123.execute-api.eu-west-1.amazonaws.com/\\n"
           "SiteBucketName\temotion-site-bucket\\n"
           "SiteDistributionId\tE2DIST\\n"
           "SiteUrl\thttps://d111.cloudfront.net\\n")


def deploy(tmp_path: Path, outputs: str = OUTPUTS) -> tuple[subprocess.CompletedProcess, Path]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    aws = bin_dir / "aws"
    aws.write_text(FAKE_AWS)
    aws.chmod(0o755)
    bucket = tmp_path / "bucket"
    bucket.mkdir()
    env = dict(os.environ, PATH=f"{bin_dir}:{os.environ['PATH']}", FAKE_LOG=str(tmp_path / "log"),
               FAKE_OUTPUTS=outputs, FAKE_BUCKET=str(bucket))
    result = subprocess.run(["bash", str(SCRIPT), "my-stack"], env=env, capture_output=True,
                            text=True, timeout=120)
    return result, bucket


def test_deploy_uploads_the_site_with_the_api_url(tmp_path, site_built):
    result, bucket = deploy(tmp_path)
    assert result.returncode == 0, result.stderr
    log = (tmp_path / "log").read_text()

    assert "cloudformation describe-stacks --stack-name my-stack" in log
    config = (bucket / "config.js").read_text()
    assert "apiUrl: 'https://abc123.execute-api.eu-west-1.amazonaws.com'" in config
    assert (bucket / "index.html").is_file() and (bucket / "app.js").is_file()
    [detector] = [d for d in (bucket / "vendor").glob("detector-*") if d.is_dir()]
    # wasm and the model go gzipped (CloudFront compresses neither), the rest as it is.
    for name in ("models/face_detection_short_range.tflite", "litert/litert_wasm_internal.wasm"):
        assert (detector / name).read_bytes()[:2] == b"\x1f\x8b", name
    assert (detector / "litert/litert.js").read_text().startswith("//")
    assert not list(bucket.rglob("*.gz")) and not list(bucket.rglob("*.br"))
    for private in ("package.json", "package-lock.json", "build.sh", "node_modules"):
        assert not (bucket / private).exists(), private

    assert "s3 sync" in log and "s3://emotion-site-bucket" in log
    assert "--content-type application/wasm --content-encoding gzip" in log
    assert "--content-type application/octet-stream --content-encoding gzip" in log
    assert "--include vendor/detector-* --exclude *.wasm --exclude *.tflite" in log
    assert "public, max-age=31536000, immutable" in log
    assert "s3 cp" in log and "index.html s3://emotion-site-bucket/index.html" in log
    assert "no-cache" in log
    assert "cloudfront create-invalidation --distribution-id E2DIST --paths /*" in log
    # The entry points go last, after the files they load.
    assert log.rindex("s3 sync") < log.index("s3 cp")
    assert "https://d111.cloudfront.net" in result.stdout


@pytest.mark.parametrize(("outputs", "complaint"), [
    (OUTPUTS.replace("ApiUrl\thttps://", "ApiUrl\thttp://"), "not a plain https:// URL"),
    (OUTPUTS.replace("ApiUrl\thttps://abc123", "ApiUrl\thttps://x';alert(1);'"),
     "not a plain https:// URL"),
    (OUTPUTS.replace("SiteBucketName", "OtherOutput"), "no output SiteBucketName"),
])
def test_deploy_refuses_bad_stack_outputs(tmp_path, outputs, complaint):
    result, bucket = deploy(tmp_path, outputs)
    assert result.returncode != 0
    assert complaint in result.stderr
    assert not any(bucket.iterdir())
