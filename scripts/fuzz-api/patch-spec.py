#!/usr/bin/env python3
"""Repairs the defects of aidmatch's OpenAPI document that stop schemathesis
from fuzzing parts of the API, and lists each repair on stdout.

    patch-spec.py RAW.json PATCHED.json

Repairs (each is a defect of the document, reported so it gets fixed at the
source; once the document is right this script changes nothing):
  - a `{name}` in a path template with no `in: path` parameter: schemathesis
    refuses the operation ("Path parameter 'ref' is not defined"). Added as a
    required string (`integer` for `id`, which the handlers parse as i64).
  - a parameter declared `in: path` whose name is not in the path template:
    schemathesis never sends it. These are the handlers' query strings
    (utoipa `IntoParams` without `parameter_in = Query`), so they become
    optional `in: query` parameters.
  - operationIds used by more than one operation (`list`, `read`, ...): links
    (and schemathesis' inferred links) resolve operationIds, so duplicates
    send the stateful phase to the wrong operation. Made unique.
"""

import json
import re
import sys

METHODS = {"get", "put", "post", "delete", "patch", "head", "options", "trace"}


def main(src: str, dst: str) -> None:
    with open(src, encoding="utf-8") as f:
        spec = json.load(f)
    notes = []
    seen_ids = {}
    for path, item in spec.get("paths", {}).items():
        template = re.findall(r"{([^}]+)}", path)
        shared = item.get("parameters", [])
        for method, op in item.items():
            if method not in METHODS:
                continue
            label = f"{method.upper()} {path}"
            params = op.setdefault("parameters", [])
            declared = {p.get("name") for p in shared + params if p.get("in") == "path"}
            for p in params:
                if p.get("in") == "path" and p.get("name") not in template:
                    p["in"] = "query"
                    p["required"] = False
                    notes.append(f"{label}: parameter '{p['name']}' declared in: path but not in the path; moved to query")
            missing = [name for name in template if name not in declared]
            for name in missing:
                schema = {"type": "integer", "format": "int64"} if name == "id" else {"type": "string"}
                params.append({"name": name, "in": "path", "required": True, "schema": schema})
            if missing:
                notes.append(f"{label}: path parameter(s) {', '.join(missing)} not declared; added")
            op_id = op.get("operationId")
            if op_id:
                seen_ids.setdefault(op_id, []).append((label, op))
    for op_id, ops in seen_ids.items():
        if len(ops) > 1:
            notes.append(f"operationId '{op_id}' is used by {len(ops)} operations; made unique")
            for label, op in ops:
                op["operationId"] = re.sub(r"[^A-Za-z0-9]+", "_", label).strip("_")
    with open(dst, "w", encoding="utf-8") as f:
        json.dump(spec, f, ensure_ascii=False, indent=1)
    for note in notes:
        print(note)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
