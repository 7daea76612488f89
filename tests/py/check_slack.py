"""Checks a Slack incoming-webhook body (JSON on stdin) against slack_sdk's
Block Kit models: every block parses into its model, passes the model's own
validation (lengths, counts), and round-trips to exactly the JSON we sent, so
an unknown or misspelt key fails too. Prints "ok" or the problem; exit 1 on failure."""
import json
import sys

from slack_sdk.models.blocks import Block


def main() -> int:
    body = json.load(sys.stdin)
    unknown = set(body) - {"text", "blocks"}
    if unknown:
        print(f"unknown top-level keys: {sorted(unknown)}")
        return 1
    if not isinstance(body.get("text"), str) or not body["text"]:
        print("missing fallback text")
        return 1
    for i, raw in enumerate(body["blocks"]):
        block = Block.parse(raw)
        if block is None or type(block) is Block:
            print(f"block {i}: unknown block type {raw.get('type')!r}")
            return 1
        block.validate_json()
        back = block.to_dict()
        if back != raw:
            print(f"block {i} does not round-trip:\n sent {raw}\n model {back}")
            return 1
    print("ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
