"""Scrapes a Prometheus endpoint and parses it with the reference Python parser.

Usage: prom_scrape.py URL
Picks the parser by the response's content type, as Prometheus does: the
strict OpenMetrics parser for `application/openmetrics-text`, the classic
text-format parser otherwise. Prints JSON: {"content_type": ..., "families":
{name: {"type": ..., "samples": [[sample_name, {labels}, value], ...]}}}.
Exits non-zero if the text does not parse, so a malformed exposition fails
the calling test.
"""
import json
import sys
import urllib.request

from prometheus_client.openmetrics import parser as openmetrics
from prometheus_client import parser as classic


def main() -> None:
    with urllib.request.urlopen(sys.argv[1], timeout=30) as resp:
        content_type = resp.headers.get("Content-Type")
        text = resp.read().decode("utf-8")
    parser = openmetrics if content_type.startswith("application/openmetrics-text") else classic
    families = {}
    for family in parser.text_string_to_metric_families(text):
        families[family.name] = {
            "type": family.type,
            "samples": [[s.name, s.labels, s.value] for s in family.samples],
        }
    json.dump({"content_type": content_type, "families": families}, sys.stdout)


if __name__ == "__main__":
    main()
