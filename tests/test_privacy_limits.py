"""Pure parts of hardening: token buckets, trusted proxies, scrubbing personal details."""

from hipbot.privacy import scrub
from hipbot.protection import TokenBuckets, client_address, parse_networks


def test_token_bucket_allows_a_burst_then_asks_to_wait() -> None:
    buckets = TokenBuckets(rate=2.0, burst=3)
    assert [buckets.take("a", now=0.0) for _ in range(3)] == [0.0, 0.0, 0.0]
    wait = buckets.take("a", now=0.0)
    assert 0.4 < wait <= 0.5
    assert buckets.take("b", now=0.0) == 0.0
    assert buckets.take("a", now=1.0) == 0.0


def test_token_bucket_forgets_old_clients() -> None:
    buckets = TokenBuckets(rate=1.0, burst=1, max_clients=2)
    for key in ("a", "b", "c"):
        buckets.take(key, now=0.0)
    assert buckets.take("a", now=0.0) == 0.0  # "a" was forgotten, so it has a full bucket again


def scope(peer: str, forwarded: str | None = None) -> dict:
    headers = [(b"x-forwarded-for", forwarded.encode())] if forwarded else []
    return {"type": "http", "client": (peer, 5000), "headers": headers}


def test_forwarded_for_is_trusted_only_from_configured_proxies() -> None:
    proxies = parse_networks(["10.0.0.0/8"])
    assert client_address(scope("203.0.113.9", "1.2.3.4"), proxies) == "203.0.113.9"
    assert client_address(scope("10.0.0.2", "198.51.100.7"), proxies) == "198.51.100.7"
    assert client_address(scope("10.0.0.2", "6.6.6.6, 198.51.100.7, 10.0.0.3"), proxies) == "198.51.100.7"
    assert client_address(scope("10.0.0.2", "1.2.3.4"), []) == "10.0.0.2"


def test_scrub_removes_emails_phones_and_names() -> None:
    text = "My name is Sarah Jones, mail sarah.j@example.com or call +1 (555) 123-4567. Dr. Patel said rest."
    clean = scrub(text)
    for secret in ("Sarah", "Jones", "example.com", "555", "Patel"):
        assert secret not in clean
    assert "[email]" in clean and "[phone]" in clean and "[name]" in clean
    assert scrub("my hip hurts after 30 minutes of sitting") == "my hip hurts after 30 minutes of sitting"
