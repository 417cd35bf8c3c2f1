"""SCIM PATCH (RFC 7644 section 3.5.2) applied to a resource as the API renders it.

The result is then read like a PUT body, so PATCH and PUT share one path into the actions.
Written for what identity providers actually send:

- Okta: `{"op": "replace", "value": {"active": false}}` (no path, a value object), group renames
  as `{"op": "replace", "value": {"id": "..", "displayName": ".."}}`, members added with
  `{"op": "add", "path": "members", "value": [{"value": ".."}]}` and removed with
  `{"op": "remove", "path": "members[value eq \\"..\\"]"}`.
- Entra ID: capitalised ops (`"Replace"`, `"Add"`), booleans as strings (`"False"`), paths
  such as `emails[type eq "work"].value` and `name.givenName`, and members removed with a path
  and a value list: `{"op": "Remove", "path": "members", "value": [{"value": ".."}]}`.
"""

from __future__ import annotations

import copy
from typing import Any

from .errors import invalid_path, invalid_syntax, invalid_value, no_target
from .filters import lookup, parse_attr, parse_filter, simple_equality

PATCH_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
CORE_URNS = frozenset(
    {
        "urn:ietf:params:scim:schemas:core:2.0:user",
        "urn:ietf:params:scim:schemas:core:2.0:group",
    }
)
MAX_OPERATIONS = 1000


def _key(container: dict[str, Any], name: str) -> str:
    """The key `name` has in `container` (attribute names are case-insensitive)."""
    lowered = name.lower()
    for key in container:
        if key.lower() == lowered:
            return key
    return name


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, dict) and isinstance(b, dict):
        return str(lookup(a, "value")) == str(lookup(b, "value"))
    return bool(a == b)


def _split(path: str) -> tuple[str, str, str, str]:
    """(urn, attribute, value filter, sub-attribute) of a PATCH path."""
    path = path.strip()
    if "[" in path:
        head, _, rest = path.partition("[")
        inner, close, tail = rest.rpartition("]")
        if not close or (tail and not tail.startswith(".")):
            raise invalid_path(f"Cannot read the path {path[:80]!r}.")
        attr = parse_attr(head, invalid_path)
        if attr.sub:
            raise invalid_path(f"Cannot read the path {path[:80]!r}.")
        return attr.urn, attr.attr, inner, tail[1:]
    attr = parse_attr(path, invalid_path)
    return attr.urn, attr.attr, "", attr.sub


def _container(resource: dict[str, Any], urn: str) -> dict[str, Any]:
    if not urn or urn.lower() in CORE_URNS:
        return resource
    key = _key(resource, urn)
    found = resource.get(key)
    if not isinstance(found, dict):
        found = resource[key] = {}
    return found


def _apply(resource: dict[str, Any], op: str, path: str, value: Any, has_value: bool) -> None:
    urn, attr, value_filter, sub = _split(path)
    container = _container(resource, urn)
    key = _key(container, attr)
    existing = container.get(key)
    if value_filter:
        predicate = parse_filter(value_filter)
        items = existing if isinstance(existing, list) else []
        matches = [item for item in items if isinstance(item, dict) and predicate(item)]
        if op == "remove":
            if sub:
                for item in matches:
                    item.pop(_key(item, sub), None)
            else:
                container[key] = [item for item in items if item not in matches]
            return
        if not matches:
            # Entra sets `emails[type eq "work"].value` on people who have no work email yet.
            equality = simple_equality(value_filter)
            if equality is None:
                raise no_target(f"Nothing in {attr} matches [{value_filter[:80]}].")
            new: dict[str, Any] = {equality[0]: equality[1]}
            if sub:
                new[sub] = value
            elif isinstance(value, dict):
                new.update(value)
            else:
                raise invalid_value(f"{path[:80]} needs an object value.")
            container[key] = [*items, new]
            return
        for item in matches:
            if sub:
                item[_key(item, sub)] = value
            elif isinstance(value, dict):
                item.update(value)
            else:
                raise invalid_value(f"{path[:80]} needs an object value.")
        return
    if sub:
        targets = existing if isinstance(existing, list) else [existing]
        if op == "remove":
            for target in targets:
                if isinstance(target, dict):
                    target.pop(_key(target, sub), None)
            return
        if existing is None:
            container[key] = {sub: value}
            return
        for target in targets:
            if isinstance(target, dict):
                target[_key(target, sub)] = value
        return
    if op == "remove":
        if has_value and isinstance(existing, list):
            gone = value if isinstance(value, list) else [value]
            container[key] = [item for item in existing if not any(_same(item, g) for g in gone)]
        else:
            container.pop(key, None)
        return
    if op == "add" and (isinstance(existing, list) or isinstance(value, list)):
        current = list(existing) if isinstance(existing, list) else []
        for item in value if isinstance(value, list) else [value]:
            if not any(_same(item, c) for c in current):
                current.append(item)
        container[key] = current
        return
    if isinstance(existing, dict) and isinstance(value, dict):
        existing.update(value)
        return
    container[key] = value


def apply_patch(resource: dict[str, Any], body: Any) -> dict[str, Any]:
    """The resource with a PatchOp request's operations applied, in order."""
    if not isinstance(body, dict):
        raise invalid_syntax("A PATCH body is a JSON object.")
    schemas = lookup(body, "schemas")
    if not isinstance(schemas, list) or PATCH_SCHEMA not in schemas:
        raise invalid_syntax(f"A PATCH body lists the schema {PATCH_SCHEMA}.")
    operations = lookup(body, "Operations")
    if not isinstance(operations, list) or not operations:
        raise invalid_syntax("A PATCH body has a non-empty Operations list.")
    if len(operations) > MAX_OPERATIONS:
        raise invalid_syntax(f"At most {MAX_OPERATIONS} operations per request.")
    result = copy.deepcopy(resource)
    for operation in operations:
        if not isinstance(operation, dict):
            raise invalid_syntax("Each operation is a JSON object.")
        op = str(lookup(operation, "op") or "").lower()
        if op not in ("add", "replace", "remove"):
            raise invalid_syntax(
                f"Unknown op {str(lookup(operation, 'op'))[:20]!r}: use add, replace or remove."
            )
        path = lookup(operation, "path")
        has_value = any(k.lower() == "value" for k in operation)
        value = lookup(operation, "value")
        if path is not None and not isinstance(path, str):
            raise invalid_path("path is a string.")
        if not path:
            if op == "remove":
                raise no_target("remove needs a path.")
            if not isinstance(value, dict):
                raise invalid_syntax(f"{op} without a path needs an object value.")
            for name, item in value.items():
                _apply(result, op, name, item, True)
        else:
            if op != "remove" and not has_value:
                raise invalid_syntax(f"{op} needs a value.")
            _apply(result, op, path, value, has_value)
    return result
