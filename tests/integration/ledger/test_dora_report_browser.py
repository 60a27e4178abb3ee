"""The HTML report of `warden ledger dora --out`, opened in a real headless browser (Debian's chromium, which
`make test` installs when missing): what the browser renders has a row per service and one for all services,
bands, round ticks that never repeat, and figures linked to the deployments behind them."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

CHROMIUM = os.environ.get("WARDEN_CHROMIUM", "/usr/bin/chromium")
# What works on a closed network: no background connections, no first-run, a fresh profile.
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def rendered(page: Path, profile: Path) -> str:
    assert Path(CHROMIUM).exists(), f"{CHROMIUM} is missing: `make browser` installs Debian's chromium"
    run = subprocess.run([CHROMIUM, *FLAGS, f"--user-data-dir={profile}", "--dump-dom", page.as_uri()],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0 and "<html" in run.stdout, run.stderr[-2000:]
    return run.stdout


@pytest.fixture(scope="module")
def report(tmp_path_factory, warden_cli, story_path):
    where = tmp_path_factory.mktemp("report")
    out = where / "dora.html"
    run = warden_cli("ledger", "dora", "--by", "week", "--days", "14", "--until", "2026-11-30T00:00:00Z",
                     "--replay", story_path, "--out", str(out))
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip().endswith(f"report: {out}")
    return rendered(out, where / "profile")


def test_the_rendered_report_has_a_row_per_service_and_one_for_all_with_bands(report):
    # Given the story's report, When the browser renders it, Then the headline is week 48 (complete)
    head = report[report.index("the latest complete week"):]
    table = head[:head.index("</table>")]
    assert re.findall(r'<tr class="(?:service|all)" data-service="([^"]+)"', table) == [
        "checkout-api", "payments-api", "(all)"]
    all_row = table[table.index('data-service="(all)"'):]
    assert "46%" in all_row and "(6 of 13)" in all_row and "6 restored, 0 open" in all_row
    assert re.findall(r'<span class="band (\w+)">', all_row) == ["elite", "elite", "low", "high"]
    assert "Accelerate State of DevOps Report 2023" in report


def test_the_rendered_charts_have_round_ticks_that_never_repeat(report):
    charts = re.findall(r'<svg [^>]*data-kind="(\w+)"[^>]*>(.*?)</svg>', report, re.S)
    assert [kind for kind, _ in charts] == ["count", "duration", "percent", "duration"]
    for kind, svg in charts:
        labels = re.findall(r'class="axis tick"[^>]*>([^<]+)<', svg)
        assert len(labels) == len(set(labels)) >= 2, labels
        if kind == "percent":
            assert labels == ["0%", "25%", "50%", "75%", "100%"]
        if kind == "duration":
            assert len({label.split()[-1] for label in labels}) == 1, labels  # one unit per axis
        periods = re.findall(r'class="axis period"[^>]*>([^<]+)<', svg)
        assert periods == ["W47", "W48"], periods


def test_each_figure_links_to_the_deployments_behind_it(report):
    links = set(re.findall(r'href="#(d-2026-W48-payments-api)"', report))
    assert links == {"d-2026-W48-payments-api"}
    behind = report[report.index('id="d-2026-W48-payments-api"'):]
    behind = behind[:behind.index("</table>")]
    assert re.findall(r'data-execution="([^"]+)"', behind) == [
        "p1", "p2", "p3", "p4", "p5", "p6", "p7", "2a9d7b63-8e2f-4d66-8b22-4d9e3c8f1b02", "p8"]
    assert "reverted by p5" in behind and "its production stage failed" in behind
    assert "redeployed" not in behind and "hotfixed by p7" in behind and "rolled back by CodePipeline" in behind
