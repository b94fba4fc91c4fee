"""Load against a real server on loopback: no errors, no dropped replies; with the rate limiter on, only
429s (with Retry-After) beyond the limit."""

import os

from hipbot.bench import load_test


def test_load_with_and_without_the_rate_limiter(settings, bot) -> None:
    env = {
        **os.environ,
        "HIPBOT_INDEX_DIR": str(settings.index_dir),
        "HIPBOT_CORPUS_DIR": str(settings.corpus_dir),
        "HIPBOT_LOG_LEVEL": "WARNING",
        "HIPBOT_QUERY_CACHE_SIZE": "0",
    }
    result = load_test(env, clients=64, seconds=20, requests=4000)
    plain, limited = result["plain"], result["rate_limited"]
    print(f"\n64 clients: {plain['requests']} replies, p50 {plain['p50_ms']} ms, p99 {plain['p99_ms']} ms")
    assert plain["requests"] > 500
    assert plain["errors"] == 0 and plain["dropped"] == 0
    assert set(plain["statuses"]) == {"200"}
    assert limited["errors"] == 0 and limited["dropped"] == 0
    assert set(limited["statuses"]) == {"200", "429"}
    assert limited["retry_after_missing"] == 0
    # burst 40, then 20 a second: the server let through about what the bucket allows, no more
    assert limited["statuses"]["200"] <= 40 + 20 * 21 + 5
