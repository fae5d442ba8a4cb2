"""Loopback load on POST /v1/series/{id}/points (starts `tsad serve` itself unless --url).

nice python3 benchmarks/bench_load.py [--url http://127.0.0.1:8000]
"""

import sys

from tsad.bench.cli import bench_app

if __name__ == "__main__":
    bench_app(["load", "--out", "bench-out/load", *sys.argv[1:]])
