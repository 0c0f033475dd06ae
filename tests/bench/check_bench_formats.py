#!/usr/bin/env python3
"""erg bench's outputs against docs/bench-schema.json, on a tiny model made
here: -o json, jsonl and csv parse and every record validates; md and the
table have one row per record; --svg writes XML with the three panels; a
device that fails gives failed rows with its reason and the bench still
completes; -d, auto and the option errors.

usage: check_bench_formats.py ERG SCHEMA WORKDIR
"""
import csv
import io
import json
import math
import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET

ERG, SCHEMA_PATH, WORK = sys.argv[1:4]
SCHEMA = json.load(open(SCHEMA_PATH))
FIELDS = list(SCHEMA["properties"])
MEASURED = {"rapl", "perf", "hwmon", "nvml", "battery", "plugin"}
failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what)


def erg(*args, code=0):
    p = subprocess.run([ERG, *args], capture_output=True, text=True)
    check(p.returncode == code,
          f"erg {' '.join(args)}: exit {p.returncode}, expected {code}\n{p.stderr}")
    return p.stdout, p.stderr


# A small validator for the parts of JSON Schema the record schema uses.
def type_ok(value, t):
    return {"string": isinstance(value, str),
            "boolean": isinstance(value, bool),
            "null": value is None,
            "integer": isinstance(value, int) and not isinstance(value, bool)
                       or isinstance(value, float) and value.is_integer(),
            "number": isinstance(value, (int, float)) and not isinstance(value, bool)
                      and math.isfinite(value)}[t]


def validate(rec, where):
    check(isinstance(rec, dict), f"{where}: not an object")
    for key in SCHEMA["required"]:
        check(key in rec, f"{where}: no field {key}")
    for key, value in rec.items():
        spec = SCHEMA["properties"].get(key)
        check(spec is not None, f"{where}: field {key} is not in the schema")
        if spec is None:
            continue
        if "enum" in spec:
            check(value in spec["enum"], f"{where}: {key} = {value!r} not in {spec['enum']}")
            continue
        types = spec["type"] if isinstance(spec["type"], list) else [spec["type"]]
        check(any(type_ok(value, t) for t in types), f"{where}: {key} = {value!r} not {types}")
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            if "minimum" in spec:
                check(value >= spec["minimum"], f"{where}: {key} = {value} < {spec['minimum']}")
            if "maximum" in spec:
                check(value <= spec["maximum"], f"{where}: {key} = {value} > {spec['maximum']}")
        if isinstance(value, str) and "pattern" in spec:
            check(re.match(spec["pattern"], value), f"{where}: {key} = {value!r} does not match")


def close(a, b, rel=1e-6):
    return abs(a - b) <= rel * max(abs(a), abs(b), 1e-300)


def check_values(rec, where):
    """What must hold between the fields of one record."""
    if rec["status"] != "ok":
        check(rec["error"], f"{where}: {rec['status']} without an error")
        check(rec["tokens_per_s"] is None and rec["joules_per_token"] is None,
              f"{where}: a {rec['status']} record has numbers")
        return
    check(rec["error"] is None, f"{where}: ok with an error")
    check(rec["tokens_per_s"] > 0, f"{where}: tokens_per_s {rec['tokens_per_s']}")
    check(close(rec["ms_per_token"], 1000 / rec["tokens_per_s"]), f"{where}: ms_per_token")
    check(rec["ttft_ms"] > 0, f"{where}: ttft_ms {rec['ttft_ms']}")
    check(rec["energy_measured"] == (rec["energy_source"] in MEASURED),
          f"{where}: energy_measured {rec['energy_measured']} for {rec['energy_source']}")
    jpt, watts = rec["joules_per_token"], rec["avg_power_w"]
    check(jpt > 0 and watts > 0, f"{where}: joules_per_token {jpt}, avg_power_w {watts}")
    # EDP per token = J/token x s/token, and s/token = (J/token) / W.
    check(close(rec["edp_per_token"], jpt * jpt / watts), f"{where}: edp_per_token")
    check(rec["peak_memory_bytes"] > 0, f"{where}: peak_memory_bytes")
    check(rec["top1_agreement"] is not None and rec["kl_divergence"] is not None,
          f"{where}: no accuracy")
    tg = rec["n_gen"] > 0
    check(rec["n_prompt"] + rec["n_gen"] > 0 and (rec["n_prompt"] == 0) == tg,
          f"{where}: n_prompt {rec['n_prompt']}, n_gen {rec['n_gen']}")
    if tg:
        check(rec["bandwidth_gbs"] > 0, f"{where}: bandwidth_gbs")
        check(close(rec["tokens_per_s_per_gbs"], rec["tokens_per_s"] / rec["bandwidth_gbs"]),
              f"{where}: tokens_per_s_per_gbs")
    else:
        check(rec["bandwidth_gbs"] is None, f"{where}: bandwidth on a prefill test")
    arith = [rec[k] for k in ("prefill_gops", "arith_peak_gops", "arith_fraction", "arith_isa")]
    if not tg and rec["backend"] == "cpu":
        gops, peak, frac, isa = arith
        check(gops > 0 and peak > 0 and isa, f"{where}: prefill against the peak: {arith}")
        check(close(frac, gops / peak), f"{where}: arith_fraction {frac} != {gops} / {peak}")
    else:
        check(arith == [None] * 4, f"{where}: arithmetic figures on a decode or GPU test")
    if rec["device"] != "auto":
        check(rec["edp_vs_best_single"] is None and rec["best_single_device"] is None,
              f"{where}: a single device compared with the best single device")
        check(rec["warm_create_ms"] is None and rec["selection_ms"] is None,
              f"{where}: a single device with auto's warm start")
    elif rec["status"] == "ok":
        check(rec["warm_create_ms"] > 0 and 0 < rec["selection_ms"] <= rec["warm_create_ms"],
              f"{where}: warm create {rec['warm_create_ms']} ms, selection "
              f"{rec['selection_ms']} ms")


def check_records(records, label, n_expected):
    check(len(records) == n_expected, f"{label}: {len(records)} records, expected {n_expected}")
    for i, rec in enumerate(records):
        validate(rec, f"{label}[{i}]")
        check(list(rec) == FIELDS, f"{label}[{i}]: fields not in the schema's order")
        check_values(rec, f"{label}[{i}]")


def from_csv(text):
    rows = list(csv.reader(io.StringIO(text)))
    check(rows and rows[0] == FIELDS, f"csv header {rows[0] if rows else None} != the schema")
    records = []
    for row in rows[1:]:
        rec = {}
        for key, cell in zip(rows[0], row):
            spec = SCHEMA["properties"][key]
            types = spec.get("type", [])
            types = types if isinstance(types, list) else [types]
            if cell == "" and (None in spec.get("enum", []) or "null" in types):
                rec[key] = None
            elif cell in ("true", "false") and ("boolean" in types):
                rec[key] = cell == "true"
            elif "number" in types or "integer" in types:
                rec[key] = float(cell)
            else:
                rec[key] = cell
        check(len(row) == len(FIELDS), f"csv row of {len(row)} cells")
        records.append(rec)
    return records


os.makedirs(WORK, exist_ok=True)
model = os.path.join(WORK, "tiny.gguf")
erg("mkmodel", "--preset", "tiny", "--type", "q4_0", "--out", model)
# cpu: two tests; nosuch: a device that does not exist fails both.
bench = ["bench", "-m", model, "-p", "16", "-n", "4", "-r", "2", "-t", "1",
         "--devices", "cpu,nosuch"]

svg = os.path.join(WORK, "chart.svg")
if os.path.exists(svg):
    os.remove(svg)
out, _ = erg(*bench, "-o", "json", "--svg", svg)
records = json.loads(out)
check_records(records, "json", 4)
check([r["status"] for r in records] == ["ok", "ok", "failed", "failed"],
      f"statuses {[r['status'] for r in records]}")
for rec in records[2:]:
    check("nosuch" in (rec["error"] or ""), f"failed row's reason: {rec['error']!r}")
    check(rec["device"] == "nosuch", f"failed row's device {rec['device']}")
cpu = records[0]
check(cpu["device"] == "cpu" and cpu["backend"] == "cpu" and cpu["threads"] == 1,
      f"cpu row: {cpu['device']} {cpu['backend']} threads {cpu['threads']}")
check(cpu["kl_divergence"] < 0.05 and cpu["nrmse"] < 0.2,
      f"cpu against its reference: kl {cpu['kl_divergence']}, nrmse {cpu['nrmse']}")

out, _ = erg(*bench, "-o", "jsonl")
lines = out.splitlines()
check_records([json.loads(line) for line in lines], "jsonl", 4)

out, _ = erg(*bench, "-o", "csv")
csv_records = from_csv(out)
check(len(csv_records) == 4, f"csv: {len(csv_records)} records")
for i, rec in enumerate(csv_records):
    for key in FIELDS:  # integers come back as floats from CSV
        if isinstance(rec.get(key), float) and rec[key].is_integer():
            spec = SCHEMA["properties"][key]
            if "integer" in (spec.get("type") or []):
                rec[key] = int(rec[key])
    validate(rec, f"csv[{i}]")
    check_values(rec, f"csv[{i}]")

columns = ["model", "device", "backend", "test", "t/s", "ms/tok", "TTFT ms", "J/tok", "W",
           "energy", "EDP mJ·s", "peak MiB", "act MiB", "top-1", "KL", "NRMSE", "t/s per GB/s",
           "roofline", "status"]
out, _ = erg(*bench, "-o", "md")
rows = [line for line in out.splitlines() if line.startswith("|")]
check([c.strip() for c in rows[0].strip("|").split("|")] == columns, f"md header {rows[0]}")
check(re.fullmatch(r"\|(-+:?\|)+", rows[1].replace(" ", "")), f"md separator {rows[1]}")
check(len(rows) == 2 + 4, f"md: {len(rows) - 2} rows, expected 4")
for row in rows[2:]:
    check(len(row.strip("|").split("|")) == len(columns), f"md row cells: {row}")
check("failed: no device 'nosuch'" in rows[-1], f"md failed row: {rows[-1]}")
check(re.search(r"^- peak MiB: .*", out, re.M), "md notes")

out, _ = erg(*bench)
check(re.search(r"^model tiny\.gguf \(q4_0, ", out, re.M), "table: model heading")
header = next((line for line in out.splitlines() if line.startswith("device")), "")
check(re.split(r"\s{2,}", header.strip()) == columns[1:], f"table header {header!r}")
rows = [line for line in out.splitlines() if re.match(r"(cpu|nosuch)\s", line)]
check(len(rows) == 4, f"table: {len(rows)} rows")
check(re.search(r"estimate|rapl|hwmon|perf", rows[0]), f"table: energy source in {rows[0]!r}")
check(re.search(r"failed: no device 'nosuch'", rows[-1]), f"table: failed row {rows[-1]!r}")
check("threads: 1 on every device" in out, "table: the threads note")

# The chart of the json run: valid XML, three panels, a bar per ok record
# in each, the failed device named, the energy source written.
ns = "{http://www.w3.org/2000/svg}"
root = ET.parse(svg).getroot()
check(root.tag == ns + "svg", f"svg root {root.tag}")
texts = ["".join(t.itertext()) for t in root.iter(ns + "text")]
for title in ("Throughput (tokens/s", "Energy per token (J/token", "Energy-delay product"):
    check(any(t.startswith(title) for t in texts), f"svg: no panel {title}")
check(any("failed: no device" in t for t in texts), "svg: the failed device")
check(any(re.fullmatch(r"[0-9.e+-]+ J \((estimate|rapl|hwmon|perf)\)", t) for t in texts),
      "svg: energy source")
bars = [r for r in root.iter(ns + "rect") if r.get("width") != "100%"]
check(len(bars) == 3 * 2, f"svg: {len(bars)} bars, expected 6")

# Depth: each test again with 8 tokens already in the KV cache.
out, _ = erg("bench", "-m", model, "-p", "8", "-n", "2", "-d", "0,8", "-r", "1", "-t", "1",
             "--devices", "cpu", "-o", "json")
records = json.loads(out)
check_records(records, "depth", 4)
check([(r["test"], r["n_depth"]) for r in records] ==
      [("pp8", 0), ("tg2", 0), ("pp8@d8", 8), ("tg2@d8", 8)],
      f"depth tests {[(r['test'], r['n_depth']) for r in records]}")

# auto: the scheduler's placement, backend mixed, where the nodes ran, and
# its EDP against the best single device's (here the only one, the CPU).
out, _ = erg("bench", "-m", model, "-p", "8", "-n", "2", "-r", "1", "-t", "1",
             "--devices", "cpu,auto", "--policy", "latency", "-o", "json")
records = json.loads(out)
check_records(records, "auto", 4)
cpu_edp = {rec["test"]: rec["edp_per_token"] for rec in records[:2]}
for rec in records[2:]:
    check(rec["device"] == "auto" and rec["backend"] == "mixed",
          f"auto row: {rec['device']} {rec['backend']}")
    check(re.fullmatch(r"[\w:.-]+=\d+(,[\w:.-]+=\d+)*", rec["placement"] or ""),
          f"auto placement {rec['placement']!r}")
    check(rec["best_single_device"] == "cpu" and
          close(rec["edp_vs_best_single"], rec["edp_per_token"] / cpu_edp[rec["test"]]),
          f"auto against the cpu: {rec['edp_vs_best_single']} ({rec['best_single_device']})")

_, err = erg(*bench, "-o", "xml", code=2)
check("-o takes table, md, csv, json or jsonl" in err, f"-o xml: {err!r}")
_, err = erg(*bench, "--policy", "fastest", code=2)
check("--policy takes edp, latency or energy" in err, f"--policy fastest: {err!r}")

print(f"check_bench_formats: {len(failures)} failed")
sys.exit(1 if failures else 0)
