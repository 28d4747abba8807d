"""What a stranger can learn or do with the sign-up form, on a real uvicorn server: nothing about whether an
address is on the list, no flood of one mailbox, no rewriting of someone else's waiting sign-up."""

from __future__ import annotations

from reader_pages import add_topics, database_dump, serving, settle, sign_up


def test_one_client_is_its_ipv6_network_not_each_address(workspace):
    """Every address of one IPv6 /64 counts as one client for [signup] client_limit, an IPv4-mapped IPv6 address as
    its IPv4 address; another /64 is another client; none of them is written anywhere."""
    add_topics(workspace)
    with (workspace / "newsletter.toml").open("a", encoding="utf-8") as handle:
        handle.write("\n[signup]\nclient_limit = 3\n")
    with serving(workspace) as served:
        one_network = [sign_up(served, f"v6-{n}@example.org", client=f"2001:db8:1:2::{n:x}").status_code
                       for n in range(1, 5)]
        other_network = sign_up(served, "v6-other@example.org", client="2001:db8:1:3::1").status_code
        mapped = [sign_up(served, f"v4-{n}@example.org", client=client).status_code
                  for n, client in enumerate(("203.0.113.7", "::ffff:203.0.113.7", "::ffff:cb00:7107",
                                              "203.0.113.7"))]
        settle(served)
        dump = database_dump(served["settings"])
    assert one_network == [200, 200, 200, 429] and other_network == 200
    assert mapped == [200, 200, 200, 429]
    stored = b"".join(path.read_bytes() for path in (workspace / "private").rglob("*") if path.is_file())
    for client in ("2001:db8", "203.0.113.7", "cb00"):
        assert client not in dump and client.encode() not in stored
