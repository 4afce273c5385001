#!/usr/bin/env bash
# Compile the sparkplane Parquet KMS client against a Spark installation's jars.
# Usage: java/kms-client/build.sh SPARK_JARS_DIR OUT_JAR
set -euo pipefail
jars=${1:?SPARK_JARS_DIR}
out=${2:?OUT_JAR}
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
javac --release 17 -nowarn -cp "$jars/*" -d "$tmp" "$here/SparkplaneKmsClient.java"
mkdir -p "$(dirname "$out")"
jar cf "$out.tmp" -C "$tmp" .
mv "$out.tmp" "$out"
