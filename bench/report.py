"""The markdown table `make bench` prints (the JSON holds every figure)."""

from __future__ import annotations

from typing import Any

IMPORT_GOAL = 1.3
WARM_GOAL = 1.3


def _ms(summary: dict[str, Any]) -> str:
    return f"{summary['median']:.1f} / {summary['p90']:.1f}"


def _kib(size: int) -> str:
    return f"{size / 1024:,.0f} KiB"


def _met(ok: bool) -> str:
    return "yes" if ok else "**no**"


def _yes(flag: bool) -> str:
    return "yes" if flag else "no"


def markdown(results: dict[str, Any]) -> str:
    lines: list[str] = []
    machine = results["machine"]
    lines += [
        f"Python {machine['python']} on {machine['machine']} ({machine['cpus']} CPUs); "
        f"counts {results['counts']}{' (quick)' if results['quick'] else ''}",
        "",
    ]

    cold = results["cold_start"]
    base = cold["import boto3 (base)"]["import_ms"]
    lines += [
        "### Cold start (fresh interpreter, built artifact; ms median / p90)",
        "",
        "| handler | import | first invocation | import ÷ `import boto3` | goal <= 1.3x |",
        "|---|---|---|---|---|",
        f"| `import boto3` alone (base) | {_ms(base)} | | 1.00 | |",
    ]
    for name, row in cold.items():
        if name.startswith("import boto3"):
            continue
        ratio = row["import_ratio_to_boto3"]
        lines.append(
            f"| {name} | {_ms(row['import_ms'])} | {_ms(row['first_invocation_ms'])} | {ratio:.2f} "
            f"| {_met(ratio <= IMPORT_GOAL)} |"
        )

    lines += [
        "",
        "### Warm cache hit (in process, moto HTTP server; ms p50 / p99)",
        "",
        "| path | handler | bare boto3, same calls | p50 ratio | DynamoDB requests per hit (goal: one read) "
        "| goals met |",
        "|---|---|---|---|---|---|",
    ]
    for name, row in results["warm"].items():
        ours, bare = row["handler_ms"], row["bare_boto3_ms"]
        one_read = row["dynamodb_requests_per_hit"] == 1 and row["dynamodb_operations"] == ["GetItem"]
        met = row["p50_ratio_to_bare"] <= WARM_GOAL and one_read
        lines.append(
            f"| {name} | {ours['median']:.2f} / {ours['p99']:.2f} | {bare['median']:.2f} / "
            f"{bare['p99']:.2f} | {row['p50_ratio_to_bare']:.2f} | {row['dynamodb_requests_per_hit']:g} "
            f"({', '.join(row['dynamodb_operations'])}) | {_met(met)} |"
        )

    saved = results["vendor_calls"]
    lines += [
        "",
        f"### Vendor calls saved ({saved['requests']} requests, {saved['workers']} workers, "
        f"vendor latency {saved['vendor_latency_ms']} ms)",
        "",
        "| case | vendor calls (floor) | through authhooks: wall, p50 | vendor every time: wall, p50 "
        "| speed-up (wall) |",
        "|---|---|---|---|---|",
    ]
    for name, row in saved.items():
        if not isinstance(row, dict) or name == "bazaarvoice_repeats":
            continue
        ours, direct = row["through_authhooks"], row["vendor_every_time"]
        lines.append(
            f"| {name} | {row['vendor_calls']} ({row['floor']}) | {ours['wall_s']:.2f} s, "
            f"{ours['latency_ms']['median']:.0f} ms | {direct['wall_s']:.2f} s, "
            f"{direct['latency_ms']['median']:.0f} ms | {row['speedup']:.1f}x |"
        )
    for name, row in saved.items():
        if isinstance(row, dict) and "user_locked" in row:
            locked = row["user_locked"]
            lines += [
                "",
                f"{name}: a different wrong password each request; the floor is the configured limit of "
                f"refused logins that may reach LiveVox. LiveVox locked the user: through authhooks "
                f"{_yes(locked['through_authhooks'])}, vendor every time "
                f"{_yes(locked['vendor_every_time'])}.",
            ]

    repeats = saved.get("bazaarvoice_repeats")
    if repeats:
        doubles, refused = repeats["double_submit_answers"], repeats["refused_answers"]
        lines += [
            "",
            "### Bazaarvoice calls for repeated links (sent at once through the local API)",
            "",
            "| case | Bazaarvoice calls (floor) | answers |",
            "|---|---|---|",
            f"| {repeats['double_submits']} double submits of a link | "
            f"{repeats['vendor_calls_per_double_submit']:g} per double submit (1) | {doubles['statuses']} |",
            f"| {repeats['refused_repeats']} POSTs of one refused token | "
            f"{repeats['vendor_calls_per_repeated_refused_token']} (1) | {refused['statuses']} |",
        ]
    lines += ["", "### Size of the build", "", "| artifact | unzipped | zipped |", "|---|---|---|"]
    for name, row in results["size"].items():
        lines.append(f"| {name} | {_kib(row['unzipped_bytes'])} | {_kib(row['zipped_bytes'])} |")
    lines += ["", f"Total bench time {results['elapsed_s']} s.", ""]
    return "\n".join(lines)
