"""The API's documentation page: the OpenAPI document (``webapp.openapi``) laid out for people.

Everything the page says comes from the document, so the page and what programs read cannot
disagree; this module only turns JSON Schema into short phrases ("list of string, at most 50").
"""

from __future__ import annotations

import json

from flask_babel import gettext as _

EXAMPLE_LINES = 80  # an example answer longer than this is cut on the page


def groups(doc: dict) -> list[dict]:
    """The operations by tag, in the document's order."""
    out = [{"tag": t["name"], "title": t.get("description", t["name"]), "operations": []}
           for t in doc.get("tags", [])]
    by_tag = {g["tag"]: g for g in out}
    for path, item in doc["paths"].items():
        for method, op in item.items():
            by_tag[op["tags"][0]]["operations"].append(operation(doc, path, method, op))
    return [g for g in out if g["operations"]]


def operation(doc: dict, path: str, method: str, op: dict) -> dict:
    status = next(code for code in op["responses"] if code.startswith("2"))
    ok = op["responses"][status]
    media, body = next(iter(ok["content"].items()))
    return {
        "id": op["operationId"], "method": method.upper(), "path": path,
        "summary": op["summary"], "description": op["description"],
        "example": op.get("x-example"),
        "parameters": [parameter(p) for p in op.get("parameters", [])],
        **request_body(doc, op.get("requestBody")),
        "responses": [response(code, r) for code, r in op["responses"].items()],
        "status": status, "status_description": ok["description"], "media": media,
        "fields": fields_of(doc, body["schema"]) if "$ref" in body["schema"] else [],
        "example_answer": example_text(body.get("example")),
    }


def request_body(doc: dict, body: dict | None) -> dict:
    """What an operation that changes something takes: its fields and example bodies."""
    if not body:
        return {"body": None}
    media, content = next(iter(body["content"].items()))
    schema = resolve(doc, content["schema"])
    return {"body": {
        "media": media, "description": body.get("description", ""),
        "fields": [{**f, "limit": limits_text(schema["properties"][f["name"]]),
                    "default": schema["properties"][f["name"]].get("default")}
                   for f in fields_of(doc, schema)],
        "examples": [{"summary": e.get("summary", name), "text": example_text(e["value"])}
                     for name, e in content.get("examples", {}).items()],
    }}


def parameter(p: dict) -> dict:
    schema = p.get("schema", {})
    repeatable = schema.get("type") == "array"
    return {"name": p["name"], "in": p["in"], "required": p.get("required", False),
            "repeatable": repeatable, "description": p.get("description", ""),
            "type": type_text(schema.get("items", {}) if repeatable else schema),
            "limit": limits_text(schema), "default": schema.get("default")}


def response(code: str, r: dict) -> dict:
    return {"code": code, "description": r.get("description", ""),
            "media": list(r.get("content", {})), "headers": list(r.get("headers", {}))}


def fields_of(doc: dict, schema: dict) -> list[dict]:
    """The top-level properties of an answer: name, type and what it holds."""
    target = resolve(doc, schema)
    required = set(target.get("required", []))
    return [{"name": name, "type": type_text(prop), "required": name in required,
             "description": prop.get("description", "")}
            for name, prop in target.get("properties", {}).items()]


def resolve(doc: dict, schema: dict) -> dict:
    ref = schema.get("$ref", "")
    return doc["components"]["schemas"][ref.rsplit("/", 1)[1]] if ref else schema


def type_text(schema: dict) -> str:
    """A JSON Schema as a short phrase: "string", "list of Hit", "date or null"."""
    if "$ref" in schema:
        return schema["$ref"].rsplit("/", 1)[1]
    if "anyOf" in schema:
        return _(" or ").join(type_text(s) for s in schema["anyOf"])
    kind = schema.get("type", "")
    if isinstance(kind, list):
        return _(" or ").join(type_text({**schema, "type": k}) for k in kind)
    if kind == "array" and "prefixItems" in schema:
        return "[" + ", ".join(type_text(s) for s in schema["prefixItems"]) + "]"
    if kind == "array":
        return _("list of %(type)s", type=type_text(schema.get("items", {})))
    if kind == "object" and isinstance(schema.get("additionalProperties"), dict):
        return _("map of %(type)s", type=type_text(schema["additionalProperties"]))
    return schema.get("format") or kind or _("any")


def limits_text(schema: dict) -> str:
    """The choices and bounds of a parameter, in words."""
    inner = schema.get("items", {}) if schema.get("type") == "array" else schema
    parts = []
    if "enum" in inner:
        parts.append(_("one of: %(values)s", values=", ".join(map(str, inner["enum"]))))
    if "minimum" in inner and "maximum" in inner:
        parts.append(_("from %(min)d to %(max)d", min=inner["minimum"], max=inner["maximum"]))
    if "maxLength" in inner:
        parts.append(_("at most %(max)d characters", max=inner["maxLength"]))
    if "pattern" in inner:
        parts.append(_("pattern %(pattern)s", pattern=inner["pattern"]))
    if schema.get("type") == "array" and "maxItems" in schema:
        parts.append(_("at most %(max)d values", max=schema["maxItems"]))
    return "; ".join(parts)


def example_text(example: object) -> str | None:
    """An example answer as indented JSON, cut after ``EXAMPLE_LINES`` lines."""
    if example is None:
        return None
    lines = json.dumps(example, ensure_ascii=False, indent=2).splitlines()
    if len(lines) > EXAMPLE_LINES:
        lines = [*lines[:EXAMPLE_LINES], "…"]
    return "\n".join(lines)
