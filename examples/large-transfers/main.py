"""Alert on large ETH transfers and on transfers that touch the org's
watchlist.

The job reads only through the moat gateway: ethereum.transactions is the
public dataset, watchlist is the org's own. It sends at most TOP_N
large-transfer alerts and one watchlist summary, so a busy block range
produces a readable number of alerts.
"""

from decimal import Decimal

import moat_job

THRESHOLD_ETH = 5000
TOP_N = 5
WEI_PER_ETH = Decimal(10) ** 18


def eth(wei):
    """Format a wei amount (an exact int or decimal string) as ETH."""
    return f"{Decimal(str(wei)) / WEI_PER_ETH:,.2f}"


def large_transfers():
    threshold_wei = THRESHOLD_ETH * 10**18
    return moat_job.query(f"""
        select hash, block_number, from_address, to_address, value
        from ethereum.transactions
        where value >= {threshold_wei}
        order by value desc
        limit {TOP_N}
    """)


def watchlist_hits():
    return moat_job.query("""
        select t.hash, t.block_number, t.value, w.address, w.label
        from ethereum.transactions t
        join watchlist w on w.address in (t.from_address, t.to_address)
        order by t.value desc
    """)


def main():
    total = moat_job.query(
        f"select count(*) as n from ethereum.transactions where value >= {THRESHOLD_ETH * 10**18}"
    )[0]["n"]
    print(f"{total} transfers of at least {THRESHOLD_ETH:,} ETH; alerting on the top {TOP_N}")

    for row in large_transfers():
        print(f"  large transfer {eth(row['value'])} ETH  tx {row['hash']}")
        moat_job.webhook("alerts", {
            "kind": "large_transfer",
            "tx_hash": row["hash"],
            "block": row["block_number"],
            "from": row["from_address"],
            "to": row["to_address"],
            "value_wei": str(row["value"]),
            "value_eth": eth(row["value"]),
        })

    hits = watchlist_hits()
    by_address = {}
    for row in hits:
        by_address.setdefault(row["address"], []).append(row)
    print(f"{len(hits)} transfers touch {len(by_address)} watchlisted addresses")

    if hits:
        moat_job.webhook("alerts", {
            "kind": "watchlist_summary",
            "transfers": len(hits),
            "addresses": [
                {
                    "address": address,
                    "label": rows[0]["label"],
                    "transfers": len(rows),
                    "largest_tx_hash": rows[0]["hash"],
                    "largest_value_eth": eth(rows[0]["value"]),
                }
                for address, rows in sorted(by_address.items())
            ],
        })
    print("done")


if __name__ == "__main__":
    main()
