"""NAB on the shared split with the default detector (prints the tables; writes bench-out/nab).

nice python3 benchmarks/bench_nab.py [--model auto] [extra `tsad bench nab` options]
"""

import sys

from tsad.bench.cli import bench_app

if __name__ == "__main__":
    bench_app(["nab", "--data", "/work/shared/data/nab", "--out", "bench-out/nab", *sys.argv[1:]])
