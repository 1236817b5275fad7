#!/usr/bin/env python3
"""Fails when an OpenAPI document's parameters cannot be what its routes take.

Schemathesis fills a path parameter into the path template; a parameter documented
`in: path` whose name is not in the template is dropped without a word, so the document's
lie (the CSV form's query fields once documented as required path parameters) passed every
check. This lint closes that gap: every `in: path` parameter is in its template and required,
every template variable is documented, and every parameter is `in` path, query or header.

Usage: openapi_lint.py URL-or-FILE
"""
import json
import re
import sys
import urllib.request


def load(src):
    if src.startswith(("http://", "https://")):
        with urllib.request.urlopen(src, timeout=10) as r:
            return json.load(r)
    with open(src, encoding="utf-8") as f:
        return json.load(f)


def problems(doc):
    out = []
    for path, item in doc.get("paths", {}).items():
        variables = set(re.findall(r"\{([^}]+)\}", path))
        for method, op in item.items():
            if method not in ("get", "post", "put", "patch", "delete"):
                continue
            params = op.get("parameters", []) + item.get("parameters", [])
            where = f"{method.upper()} {path}"
            documented = set()
            for p in params:
                name, kind = p.get("name"), p.get("in")
                if kind == "path":
                    documented.add(name)
                    if name not in variables:
                        out.append(f"{where}: path parameter {name!r} is not in the route template")
                    if p.get("required") is not True:
                        out.append(f"{where}: path parameter {name!r} is not required")
                elif kind not in ("query", "header"):
                    out.append(f"{where}: parameter {name!r} is `in: {kind}`")
            for v in sorted(variables - documented):
                out.append(f"{where}: route variable {v!r} is not documented")
    return out


if __name__ == "__main__":
    found = problems(load(sys.argv[1]))
    for line in found:
        print(f"openapi lint: {line}", file=sys.stderr)
    sys.exit(1 if found else 0)
