"""Prints one line per file named on stdin: 1 if lxml (libxml2) parses it as well-formed,
namespace-well-formed XML, 0 otherwise: refused, or parsed while logging an error (libxml2
recovers from some namespace errors, such as a name with two colons, but still calls them
errors). No DTD loading, no entity resolution, no network."""
import sys
from lxml import etree

parser = etree.XMLParser(resolve_entities=False, load_dtd=False, no_network=True, huge_tree=False)
out = []
for line in sys.stdin:
    path = line.rstrip("\n")
    with open(path, "rb") as f:
        data = f.read()
    try:
        etree.fromstring(data, parser)
        errors = [e for e in parser.error_log if e.level >= etree.ErrorLevels.ERROR]
        out.append("0" if errors else "1")
    except (etree.XMLSyntaxError, ValueError):
        out.append("0")
sys.stdout.write("\n".join(out) + "\n")
