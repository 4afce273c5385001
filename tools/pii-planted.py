"""Record which planted PII/secret strings the pii_planted event log really holds, and where.

Usage:  python tools/pii-planted.py [LOG] [--write testdata/pii-planted.json]
Default LOG: the single application under testdata/eventlogs/spark43/pii_planted/.

The planted strings come from tools/gen-eventlogs.py (PII dict and the pii_planted confs).
For each string this lists the JSON paths (event type + field path) where it occurs in the log,
so a redaction test can assert that NONE of them appears in sparkplane's JSON/text/HTML output
and know that the test input really contained them. `must_not_be_masked` lists values that look
like a card number but fail the Luhn check, and identifiers/numbers that must survive redaction.
"""
import glob, importlib.util, json, os, sys

HERE = os.path.dirname(os.path.abspath(__file__))


def load(name, file):
    spec = importlib.util.spec_from_file_location(name, os.path.join(HERE, file))
    m = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(m)
    return m


def paths(obj, prefix=""):
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield from paths(v, f"{prefix}/{k}")
            yield prefix + "/<key>", k
    elif isinstance(obj, list):
        for v in obj:
            yield from paths(v, prefix + "[]")
    elif isinstance(obj, str):
        yield prefix, obj


def main():
    args = sys.argv[1:]
    out = None
    if "--write" in args:
        i = args.index("--write")
        out = args[i + 1]
        del args[i:i + 2]
    ce = load("count_events", "count-events.py")
    ie = load("insight_evidence", "insight-evidence.py")
    root = ce.ROOT
    log = args[0] if args else ce.discover(os.path.join(root, "testdata/eventlogs/spark43/pii_planted"))[0]
    # The generator's PII dict, without importing pyspark (it is only imported in functions).
    gen = load("gen_eventlogs", "gen-eventlogs.py")
    planted = dict(gen.PII)
    found = {k: {} for k in planted}
    for ev in ie.events(log):
        et = ev.get("Event", "?").rsplit(".", 1)[-1]
        for p, s in paths(ev):
            for k, v in planted.items():
                if v in s:
                    where = f"{et}{p}"
                    found[k][where] = found[k].get(where, 0) + 1
    control = planted.pop("luhn_invalid")
    found.pop("luhn_invalid", None)
    # Shape: every string value outside keys containing "description"/"note" is a planted string
    # (crates/analysis/tests/pii.rs collects them all and asserts none is in the output).
    res = {
        "note": "Strings planted by tools/gen-eventlogs.py pii_planted (Spark 4.3, AQE on, Spark's own "
                "spark.redaction.regex set to match nothing so the secrets reach the log). None of the "
                "strings under 'planted' may appear in sparkplane's JSON, text or HTML output for this "
                "log. 'found_in' maps each to event-type/JSON-path -> occurrences in the log; "
                "'reached_log' says whether the string is in the log at all.",
        "log_description": os.path.relpath(os.path.abspath(log), root),
        "planted": planted,
        "found_in": {k: dict(sorted(v.items())) for k, v in found.items()},
        "reached_log": {k: bool(v) for k, v in found.items()},
        "luhn_invalid_control_description": control,
        "over_redaction_controls_description": f"{control} fails the Luhn check: the card-number rule must not mask it "
                                   "(it may still be removed where all literals are replaced, e.g. in SQL "
                                   "plans). App ids (local-...), timestamps (epoch ms) and byte counts "
                                   "must stay unmasked.",
    }
    missing = [k for k, v in found.items() if not v]
    text = json.dumps(res, indent=1) + "\n"
    if out:
        with open(out, "w") as f:
            f.write(text)
    else:
        sys.stdout.write(text)
    print("planted strings absent from the log:", missing, file=sys.stderr)


if __name__ == "__main__":
    main()
