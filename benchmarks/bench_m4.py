"""M4 Hourly, h=48, last 48 held out, with OWA against Naive2 measured in the same run.

nice python3 benchmarks/bench_m4.py [--model auto]
"""

import sys

from tsad.bench.cli import bench_app

if __name__ == "__main__":
    train = "/work/shared/data/m4/Hourly-train.csv"
    bench_app(["m4", "--train", train, "--out", "bench-out/m4", *sys.argv[1:]])
