"""Load test: 64 clients for 20 seconds against a real `hipbot serve` on loopback, then the same with the
rate limiter on. Prints the figures as JSON; exits 1 on any error, dropped reply or missing Retry-After.

    .venv/bin/python scripts/load_test.py [--clients 64] [--seconds 20]
"""

import argparse
import json
import os
import sys

from hipbot.bench import load_test


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=64)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--requests", type=int, default=4000)
    args = parser.parse_args()
    env = {**os.environ, "HIPBOT_LOG_LEVEL": "WARNING", "HIPBOT_QUERY_CACHE_SIZE": "0"}
    result = load_test(env, args.clients, args.seconds, args.requests)
    print(json.dumps(result, indent=2))
    runs = (result["plain"], result["rate_limited"])
    failed = any(run["errors"] or run["dropped"] or run["retry_after_missing"] for run in runs)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
