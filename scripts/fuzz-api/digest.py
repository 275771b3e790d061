#!/usr/bin/env python3
"""Summarises one schemathesis run of scripts/fuzz-api.sh.

    digest.py summary ROLE REPORT.json EXIT_CODE SPEC_DEFECTS
        one line: operations, test cases, failures by check
    digest.py failures EVENTS.ndjson BASE_URL
        every distinct failure (check, operation, message) with how often it
        was seen, the request that reproduces it as a curl command (the token
        is written as $TOKEN) and the response's status and body
"""

import base64
import json
import re
import shlex
import sys

# Failure types in report.json, by the check that raises them.
CHECK_OF_TYPE = {
    "ServerError": "not_a_server_error",
    "UndefinedStatusCode": "status_code_conformance",
    "UndefinedContentType": "content_type_conformance",
    "MalformedMediaType": "content_type_conformance",
    "MissingContentType": "content_type_conformance",
    "JsonSchemaError": "response_schema_conformance",
    "MissingHeaders": "response_headers_conformance",
    "AcceptedNegativeData": "negative_data_rejection",
    "RejectedPositiveData": "positive_data_acceptance",
}


def summary(role, path, code, spec_defects):
    try:
        with open(path, encoding="utf-8") as f:
            doc = json.load(f)
    except (OSError, ValueError) as e:
        print(f"{role:<10} schemathesis wrote no report (exit {code}): {e}")
        return
    ops = doc.get("operations") or {}
    cases = doc.get("test_cases") or {}
    by_check = {}
    for f in doc.get("failures") or []:
        check = CHECK_OF_TYPE.get(f.get("type"), f.get("type") or f.get("title"))
        by_check[check] = by_check.get(check, 0) + f.get("count", 0)
    failures = ", ".join(f"{k} {v}" for k, v in sorted(by_check.items())) or "none"
    errors = doc.get("errors") or []
    error_text = "; ".join(f"{e['title']} x{e['count']}" for e in errors) or "none"
    print(
        f"{role:<10} operations {ops.get('tested', 0)}/{ops.get('selected', 0)},"
        f" test cases {cases.get('generated', 0)} ({cases.get('with_failures', 0)} failing),"
        f" failures by check: {failures}; errors: {error_text};"
        f" spec defects patched: {spec_defects}; seed {doc.get('seed')}; exit {code}"
    )


def _body(blob):
    if not blob:
        return None
    if isinstance(blob, dict) and "$base64" in blob:
        return base64.b64decode(blob["$base64"]).decode("utf-8", "replace")
    return blob if isinstance(blob, str) else json.dumps(blob, ensure_ascii=False)


def _group_key(name, failure):
    message = failure.get("message") or ""
    if failure.get("type") == "JsonSchemaError":
        # Group by where in the schema it failed, not by the offending value.
        where = re.search(r"Schema at (\S+?):?$", message, re.M)
        status = re.search(r"status code (\d+)", message)
        first = re.sub(r'"[^"]*"', '"…"', message.splitlines()[0]) if message else ""
        message = f"{first} [{where.group(1) if where else '?'} @ {status.group(1) if status else '?'}]"
    else:
        message = " / ".join(line for line in message.splitlines() if line.strip())
    return (name, failure.get("operation") or "?", message)


def _curl(request):
    parts = ["curl", "-sS", "-i", "-X", request["method"]]
    for header, values in (request.get("headers") or {}).items():
        for value in values:
            if header.lower() == "authorization":
                parts += ["-H", "Authorization: Bearer $TOKEN"]
            else:
                parts += ["-H", f"{header}: {value}"]
    body = _body(request.get("body"))
    if body is not None:
        parts += ["--data-raw", body]
    parts.append(request["uri"])
    return " ".join('"Authorization: Bearer $TOKEN"' if p == "Authorization: Bearer $TOKEN" else shlex.quote(p)
                    for p in parts)


def failures(path, base_url):
    groups = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            event = json.loads(line)
            finished = event.get("ScenarioFinished")
            if not finished:
                continue
            recorder = finished.get("recorder") or {}
            for case_id, checks in (recorder.get("checks") or {}).items():
                for check in checks:
                    if check.get("status") != "failure":
                        continue
                    failure = (check.get("failure_info") or {}).get("failure") or {}
                    key = _group_key(check.get("name"), failure)
                    group = groups.setdefault(key, {"count": 0, "sample": None, "message": failure.get("message")})
                    group["count"] += 1
                    interaction = (recorder.get("interactions") or {}).get(case_id)
                    if group["sample"] is None and interaction:
                        group["sample"] = interaction
    if not groups:
        print("no failures")
        return
    for (name, operation, message), group in sorted(groups.items()):
        print(f"### {name} — {operation} — seen {group['count']}x")
        print(f"    {message}")
        if group["message"] and group["message"] != message:
            for line in group["message"].splitlines()[:14]:
                print(f"      | {line}")
        sample = group["sample"]
        if sample:
            request, response = sample["request"], sample.get("response") or {}
            print(f"    repro: {_curl(request)}")
            body = (_body(response.get("content")) or "").replace("\n", " ")
            if len(body) > 400:
                body = body[:400] + "…"
            print(f"    response: {response.get('status_code')} {body}")
        print()


if __name__ == "__main__":
    if sys.argv[1] == "summary":
        summary(*sys.argv[2:6])
    elif sys.argv[1] == "failures":
        failures(*sys.argv[2:4])
    else:
        sys.exit(__doc__)
