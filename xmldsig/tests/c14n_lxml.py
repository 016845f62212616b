"""Reference canonicalization with lxml for the differential test (tests/it/c14n_lxml.rs).

Usage: python c14n_lxml.py FILE...   -> prints one JSON object {file: {key: base64(c14n)}}.
Keys: "doc/<mode>" for the whole document, "el<i>/<mode>" for the i-th element (document
order) as a subtree. Modes: inc, inc-c (with comments), exc, exc-c, exc-pl (exclusive with the
InclusiveNamespaces prefix list ["a", "n1"]).
"""
import base64
import json
import sys

from lxml import etree

MODES = {
    "inc": dict(exclusive=False, with_comments=False),
    "inc-c": dict(exclusive=False, with_comments=True),
    "exc": dict(exclusive=True, with_comments=False),
    "exc-c": dict(exclusive=True, with_comments=True),
    "exc-pl": dict(exclusive=True, with_comments=False, inclusive_ns_prefixes=["a", "n1"]),
}

def c14n(node, mode):
    return base64.b64encode(etree.tostring(node, method="c14n", **MODES[mode])).decode()

result = {}
for path in sys.argv[1:]:
    parser = etree.XMLParser(resolve_entities=False, no_network=True, remove_blank_text=False)
    tree = etree.parse(path, parser)
    out = {}
    for mode in MODES:
        out["doc/" + mode] = c14n(tree, mode)
    for i, el in enumerate(tree.getroot().iter(etree.Element)):
        if i >= 60:
            break
        for mode in ("inc", "exc", "exc-pl"):
            out["el%d/%s" % (i, mode)] = c14n(el, mode)
    result[path] = out
json.dump(result, sys.stdout, indent=0, sort_keys=True)
